// The console's only way to the server: the public /v1 API with the signed-in bearer token, the
// same calls any API client makes. Errors arrive as RFC 9457 problem documents.

/** A failed API call: the HTTP status and the problem document (or null). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `the server answered ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** Route parameters come from the address bar: only id- and uid-shaped values reach the API. */
export function checkSegment(value) {
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(value) || /^\.+$/.test(value)) {
    throw new ApiError(404, { detail: "There is no such page." });
  }
  return value;
}

export class Api {
  /** `onUnauthorized` runs when the token is refused (expired, revoked), before the error is thrown. */
  constructor(token, onUnauthorized) {
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  /** Calls `method` on `/v1/<segments…>` (each segment encoded) with an optional query and JSON body. */
  async request(method, segments, { query, body } = {}) {
    // Relative to the page, so a console served under a path prefix calls the API under it too.
    const url = new URL(["v1", ...segments.map((s) => encodeURIComponent(s))].join("/"), document.baseURI);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
    const headers = { authorization: `Bearer ${this.token}`, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
        referrerPolicy: "no-referrer",
      });
    } catch {
      throw new ApiError(0, { detail: "The server cannot be reached. Check your connection and try again." });
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      if (response.status === 401) this.onUnauthorized?.();
      throw new ApiError(response.status, data);
    }
    return data;
  }

  get(segments, query) {
    return this.request("GET", segments, { query });
  }

  post(segments, body = {}) {
    return this.request("POST", segments, { body });
  }

  patch(segments, body) {
    return this.request("PATCH", segments, { body });
  }
}
