// A stand-in for API Gateway's mapping-template engine: velocityjs (as serverless-offline uses)
// with the $input, $util and $context that API Gateway provides to a REST integration.
import { render } from "velocityjs";

export interface Request {
  /** The raw body as sent. */
  body: string;
  /** The Cognito authorizer's claims ($context.authorizer.claims). */
  claims: Record<string, string>;
  requestId: string;
  /** A number as API Gateway documents it; a string, to show the templates do not rely on it. */
  requestTimeEpoch: number | string;
}

/** `$input.path`/`$input.json` for the JSONPath forms templates use: `$`, `.name`, `[index]`. */
function select(root: unknown, jsonPath: string): unknown {
  if (!jsonPath.startsWith("$")) throw new Error(`not a JSONPath: ${jsonPath}`);
  let value: any = root;
  for (const [, name, index] of jsonPath.slice(1).matchAll(/\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g)) {
    value = value?.[name ?? Number(index)];
  }
  return value;
}

/** Apache Commons Lang's StringEscapeUtils.escapeJavaScript, which $util.escapeJavaScript is. */
export function escapeJavaScript(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    const unit = (c: number) => "\\u" + c.toString(16).toUpperCase().padStart(4, "0");
    if (code > 0xffff) {
      out += unit(ch.charCodeAt(0)) + unit(ch.charCodeAt(1));
    } else if (code > 0x7f) {
      out += unit(code);
    } else if (code < 0x20) {
      const short: Record<number, string> = { 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r" };
      out += short[code] ?? unit(code);
    } else {
      out += ({ "'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/" } as Record<string, string>)[ch] ?? ch;
    }
  }
  return out;
}

/** `$context.requestTime`: CLF-formatted UTC, "18/Nov/2026:11:15:30 +0000". */
export function requestTime(epochMs: number): string {
  const t = new Date(epochMs);
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(t.getUTCDate())}/${months[t.getUTCMonth()]}/${t.getUTCFullYear()}:` +
    `${two(t.getUTCHours())}:${two(t.getUTCMinutes())}:${two(t.getUTCSeconds())} +0000`;
}

export interface Rendered {
  output: string;
  /** `$context.responseOverride.status`, if the template set it. */
  status?: number;
}

/** Renders `template` for a request (request templates) or a backend answer (response templates). */
export function renderTemplate(template: string, request: Request, backendBody?: string): Rendered {
  const bodyText = backendBody ?? request.body;
  const parsed = bodyText === "" ? undefined : JSON.parse(bodyText);
  const responseOverride: { status?: number; header: Record<string, string> } = { header: {} };
  const context = {
    input: {
      body: bodyText,
      path: (p: string) => select(parsed, p),
      json: (p: string) => JSON.stringify(select(parsed, p)),
    },
    util: {
      base64Encode: (s: unknown) => Buffer.from(String(s), "utf8").toString("base64"),
      escapeJavaScript: (s: unknown) => escapeJavaScript(String(s)),
      parseJson: (s: string) => JSON.parse(s),
    },
    context: {
      requestId: request.requestId,
      requestTimeEpoch: request.requestTimeEpoch,
      requestTime: requestTime(Number(request.requestTimeEpoch)),
      authorizer: { claims: request.claims },
      responseOverride,
    },
  };
  const output = render(template, context, {}, { escape: false });
  return { output, status: responseOverride.status };
}
