/** The message and error type found in an OpenStack error response body, whatever the service. */
export interface ParsedErrorBody {
  message: string;
  code?: string;
}

const MAX_MESSAGE = 1000;

function clean(s: string): string {
  const text = s
    .replace(/<br\s*\/?>/gi, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&nbsp;/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
  return text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE) + "…" : text;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v.trim() !== "" ? v : undefined;
}

/** Glance and some proxies answer with HTML: the title is repeated in <h1>, the text after it is the message. */
function fromHtml(text: string): ParsedErrorBody {
  const body = /<body[^>]*>([\s\S]*)<\/body>/i.exec(text)?.[1] ?? text;
  const title = clean(/<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(body)?.[1] ?? "");
  const rest = clean(body.replace(/<h1[^>]*>[\s\S]*?<\/h1>/i, ""));
  return { message: rest || title || "(empty error body)" };
}

function fromJson(data: unknown): ParsedErrorBody | undefined {
  if (!isObj(data)) return undefined;
  // Keystone: {"error": {"message", "code", "title"}}
  const ks = data["error"];
  if (isObj(ks) && str(ks["message"])) return { message: clean(String(ks["message"])), code: str(ks["title"]) };
  // Neutron: {"NeutronError": {"type", "message", "detail"}}
  const ne = data["NeutronError"];
  if (isObj(ne)) {
    const detail = str(ne["detail"]);
    const msg = str(ne["message"]) ?? "";
    return { message: clean(detail && !msg.includes(detail) ? `${msg} ${detail}` : msg), code: str(ne["type"]) };
  }
  if (typeof ne === "string") return { message: clean(ne) };
  // Octavia (WSME): {"faultcode", "faultstring", "debuginfo"}
  if (str(data["faultstring"])) return { message: clean(String(data["faultstring"])), code: str(data["faultcode"]) };
  // Glance JSON: {"code": "404 Not Found", "message", "title"}
  if (str(data["message"])) return { message: clean(String(data["message"])), code: str(data["title"]) };
  // Nova / Cinder: {"itemNotFound": {"message", "code"}}, {"badRequest": ...}, {"conflictingRequest": ...}
  for (const [key, v] of Object.entries(data)) {
    if (isObj(v) && str(v["message"])) return { message: clean(String(v["message"])), code: key };
  }
  if (str(data["description"])) return { message: clean(String(data["description"])) };
  return undefined;
}

/** Parses an error response body of any OpenStack service (JSON of several shapes, HTML, or plain text). */
export function parseErrorBody(text: string, contentType: string | undefined): ParsedErrorBody {
  const trimmed = text.trim();
  if (trimmed === "") return { message: "(empty error body)" };
  if (/json/i.test(contentType ?? "") || trimmed.startsWith("{")) {
    try {
      const parsed = fromJson(JSON.parse(trimmed));
      if (parsed) return parsed;
    } catch {
      // not JSON after all: fall through to text handling
    }
  }
  if (/html/i.test(contentType ?? "") || /^<(!doctype|html)/i.test(trimmed)) return fromHtml(trimmed);
  return { message: clean(trimmed) };
}
