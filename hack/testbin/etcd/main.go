// Command etcd is the upstream etcd server, built from go.etcd.io/etcd/server/v3 pinned in go.mod,
// so the tests need no etcd release download.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
