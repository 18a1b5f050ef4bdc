/** A request path and the same path with every interpolated value replaced by {id}, for metrics and errors. */
export interface RequestPath {
  path: string;
  template: string;
}

/** Tagged template: ospath`/servers/${id}/tags/${tag}` encodes each value and remembers the template. */
export function ospath(strings: TemplateStringsArray, ...values: (string | number)[]): RequestPath {
  let path = strings[0] ?? "";
  let template = strings[0] ?? "";
  values.forEach((v, i) => {
    path += encodeURIComponent(String(v)) + (strings[i + 1] ?? "");
    template += "{id}" + (strings[i + 1] ?? "");
  });
  return { path, template };
}

const ID_SEGMENT = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}|\d+)$/i;

/** For paths not built with ospath: segments that look like ids (UUIDs, 32-hex, numbers) become {id}. */
export function templateOf(path: string): string {
  const [p] = path.split("?");
  return (p ?? "")
    .split("/")
    .map((s) => (ID_SEGMENT.test(s) ? "{id}" : s))
    .join("/");
}
