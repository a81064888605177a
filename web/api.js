// Calls to the selfie2anime API and the presigned S3 upload. Nothing here touches the DOM.

export const DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{32}$/;
const DELETE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;
const UPLOAD_TIMEOUT_MS = 120_000;

/** An error whose message (and advice) the page shows to the person as plain text. */
export class UserError extends Error {
  constructor(message, { advice = "", field = null } = {}) {
    super(message);
    this.name = "UserError";
    this.advice = advice;
    this.field = field;
  }
}

export function isJobId(value) {
  return typeof value === "string" && JOB_ID_PATTERN.test(value);
}

export function isDeleteToken(value) {
  return typeof value === "string" && DELETE_TOKEN_PATTERN.test(value);
}

/** Return `value` as an absolute http(s) URL, or null for anything else (javascript:, data:, junk). */
export function safeHttpUrl(value) {
  if (typeof value !== "string" || value === "") {
    return null;
  }
  try {
    const url = new URL(value, window.location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * Load config.json from next to the page: `{"apiUrl": "", "resultDays"?: n, "maxUploadBytes"?: n}`.
 * An empty apiUrl means the API shares the page's origin, as in the embedded stack.
 * Throws a UserError when the file is missing or invalid, because the page cannot work without it.
 */
export async function loadConfig() {
  const broken = new UserError("This page is not set up correctly, so it cannot take photos right now.", {
    advice: "Please try again later.",
  });
  let config;
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) {
      throw broken;
    }
    config = await response.json();
  } catch {
    throw broken;
  }
  if (config === null || typeof config !== "object" || typeof config.apiUrl !== "string") {
    throw broken;
  }
  let apiUrl = "";
  if (config.apiUrl !== "") {
    apiUrl = safeHttpUrl(config.apiUrl);
    if (apiUrl === null) {
      throw broken;
    }
  }
  return {
    apiUrl: apiUrl.replace(/\/+$/, ""),
    resultDays: positiveInteger(config.resultDays),
    maxUploadBytes: positiveInteger(config.maxUploadBytes) ?? DEFAULT_MAX_UPLOAD_BYTES,
  };
}

function positiveInteger(value) {
  return Number.isInteger(value) && value > 0 ? value : null;
}

export class Api {
  constructor(baseUrl) {
    this.baseUrl = baseUrl;
  }

  jobUrl(jobId) {
    return `${this.baseUrl}/jobs/${encodeURIComponent(jobId)}`;
  }

  /** Send one request; return `{status, data}` where data is the parsed JSON body or null. */
  async request(method, url, { json, headers = {} } = {}) {
    const init = { method, headers: { ...headers }, cache: "no-store" };
    if (json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch {
      throw new UserError("We could not reach the service.", {
        advice: "Please check your internet connection and try again.",
      });
    }
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch {
        data = null;
      }
    }
    return { status: response.status, data };
  }

  /** Create a job; returns the API's 201 body or throws a UserError with the API's message. */
  async createJob(email) {
    const { status, data } = await this.request("POST", `${this.baseUrl}/jobs`, {
      json: { email, consent: true },
    });
    if (status === 201 && data && isJobId(data.job_id) && data.upload && typeof data.upload === "object") {
      return data;
    }
    throw apiError(status, data);
  }

  getJob(jobId) {
    return this.request("GET", this.jobUrl(jobId));
  }

  deleteJob(jobId, deleteToken) {
    return this.request("DELETE", this.jobUrl(jobId), { headers: { "X-Delete-Token": deleteToken } });
  }
}

const FIELD_FOR_ERROR = {
  missing_email: "email",
  invalid_email: "email",
  consent_required: "consent",
};

/** Turn an API error response into a UserError that carries the API's own sentence. */
export function apiError(status, data) {
  const code = data && typeof data.error === "string" ? data.error : "";
  const message = data && typeof data.message === "string" && data.message !== "" ? data.message : null;
  if (message !== null) {
    return new UserError(message, { field: FIELD_FOR_ERROR[code] ?? null });
  }
  if (status >= 500) {
    return new UserError(`The service is having trouble (HTTP ${status}).`, { advice: "Please try again in a few minutes." });
  }
  return new UserError(`The service did not accept the request (HTTP ${status}).`, { advice: "Please reload the page and try again." });
}

/**
 * Read the maximum upload size from the presigned POST's policy (its content-length-range
 * condition), or return null when the policy is absent or unreadable.
 */
export function uploadLimit(upload) {
  const policy = upload && upload.fields && upload.fields.policy;
  if (typeof policy !== "string") {
    return null;
  }
  try {
    const policyDocument = JSON.parse(atob(policy));
    for (const condition of policyDocument.conditions ?? []) {
      if (Array.isArray(condition) && condition[0] === "content-length-range" && Number.isInteger(condition[2])) {
        return condition[2];
      }
    }
  } catch {
    return null;
  }
  return null;
}

/**
 * POST the photo to S3 with the presigned form. S3 requires the policy fields first and the
 * file last; Content-Type goes between them because the policy checks it.
 * Uses XMLHttpRequest rather than fetch because only XHR reports upload progress.
 */
export function uploadPhoto(upload, photo, onProgress) {
  return new Promise((resolve, reject) => {
    const url = safeHttpUrl(upload.url);
    if (url === null || !upload.fields || typeof upload.fields !== "object") {
      reject(new UserError("The service sent an upload link we cannot use.", { advice: "Please try again later." }));
      return;
    }
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) {
      form.append(name, String(value));
    }
    form.append("Content-Type", photo.type);
    form.append("file", photo.blob, photo.name);

    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.timeout = UPLOAD_TIMEOUT_MS;
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total > 0) {
        onProgress(Math.round((100 * event.loaded) / event.total));
      }
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) {
        resolve();
      } else {
        reject(uploadError(request.status, request.responseText));
      }
    });
    request.addEventListener("error", () => {
      reject(new UserError("The upload did not go through.", { advice: "Please check your internet connection and try again." }));
    });
    request.addEventListener("timeout", () => {
      reject(new UserError("The upload timed out.", { advice: "Please try again on a faster connection." }));
    });
    request.send(form);
  });
}

function uploadError(status, body) {
  // S3 responds to a rejected form POST with an XML error document. Only its <Code> is read.
  const code = /<Code>([A-Za-z]+)<\/Code>/.exec(body || "")?.[1] ?? "";
  if (code === "EntityTooLarge") {
    return new UserError("Your photo is larger than the size limit.", { advice: "Please choose a smaller photo.", field: "photo" });
  }
  if (code === "AccessDenied" && /expired/i.test(body)) {
    return new UserError("The upload link has expired.", { advice: "Please choose “Make another portrait” and try again." });
  }
  return new UserError(`The upload was not accepted (HTTP ${status}).`, { advice: "Please try again in a few minutes." });
}
