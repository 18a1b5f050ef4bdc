import type { KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import type { KubeClient } from "./kube-client.js";
import { resourcePath, type ResourceType } from "./resource.js";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
export interface WatchEvent {
  type: WatchEventType;
  /** The object, or for ERROR a metav1.Status. */
  object: unknown;
}

export interface ListPage<T> {
  items: T[];
  resourceVersion: string;
  continue?: string;
}

/** A running watch; `done` settles when the stream ends (resolves) or fails (rejects with an error that may carry statusCode). */
export interface WatchHandle {
  abort(): void;
  done: Promise<void>;
}

/** The two calls an informer needs; the real one talks to the apiserver, unit tests may supply a fake. */
export interface ListerWatcher<T extends KubernetesObject> {
  list(opts: { continue?: string; limit: number }): Promise<ListPage<T>>;
  watch(opts: { resourceVersion: string; timeoutSeconds: number }, onEvent: (e: WatchEvent) => void): Promise<WatchHandle>;
}

export interface ListWatchScope {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** ListerWatcher over the apiserver: paginated LIST and streaming WATCH, both through KubeClient. */
export function apiListerWatcher<T extends KubernetesObject>(
  client: KubeClient,
  type: ResourceType,
  scope: ListWatchScope = {},
): ListerWatcher<T> {
  const path = resourcePath(type, { namespace: scope.namespace });
  return {
    async list({ continue: cont, limit }) {
      const res: KubernetesListObject<T> = await client.list<T>(type, {
        namespace: scope.namespace,
        labelSelector: scope.labelSelector,
        fieldSelector: scope.fieldSelector,
        limit,
        continue: cont,
      });
      return {
        items: res.items.map((o) => ({ ...o, apiVersion: res.apiVersion, kind: type.kind })),
        resourceVersion: res.metadata?.resourceVersion ?? "",
        continue: res.metadata?._continue || undefined,
      };
    },
    async watch({ resourceVersion, timeoutSeconds }, onEvent) {
      const query = {
        watch: true,
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
        labelSelector: scope.labelSelector,
        fieldSelector: scope.fieldSelector,
      };
      return client.stream(path, query, (line) => {
        let event: WatchEvent;
        try {
          event = JSON.parse(line) as WatchEvent;
        } catch {
          // A line cut by an aborted stream: the informer relists or rewatches anyway.
          return;
        }
        onEvent(event);
      });
    },
  };
}
