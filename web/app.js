// The upload page: the form, the job's progress, the portrait or the reason, and deletion.
//
// Values from the API or the URL reach the page through textContent only. The one exception
// is a URL, which becomes a src or href only when it is http(s). innerHTML is never used.

import { Api, UserError, apiError, isDeleteToken, isJobId, loadConfig, safeHttpUrl, uploadLimit, uploadPhoto } from "./api.js";
import { checkSize, looksLikeImage, megabytes, notAPhotoError, preparePhoto } from "./photo.js";

const STORAGE_KEY = "selfie2anime.job";
const FAST_POLL_MS = 1000;
const SLOW_POLL_MS = 3000;
const FAST_POLL_PERIOD_MS = 30_000;
// How long to keep polling for a job that has not finished, and, after it finished, for its email.
const MAX_POLL_MS = 15 * 60_000;
const EMAIL_WAIT_MS = 2 * 60_000;

const STATUS_TEXT = {
  PENDING_UPLOAD: "Waiting for your photo to arrive.",
  VALIDATING: "Looking for your face in the photo.",
  QUEUED: "Drawing your portrait. This usually takes less than a minute.",
  DONE: "Your portrait is ready.",
  REJECTED: "We could not make a portrait from this photo.",
  FAILED: "Something went wrong while we made your portrait.",
};
const OUTCOME_TITLE = {
  REJECTED: "Why we could not use this photo",
  FAILED: "What went wrong",
};
const STEP_STATE_TEXT = { done: "done", current: "in progress", stopped: "stopped", todo: "" };

const element = (id) => document.getElementById(id);
const ui = {
  pageError: element("page-error"),
  form: element("upload-form"),
  fieldsets: [element("form-fields"), element("photo-fields")],
  email: element("email"),
  emailError: element("email-error"),
  consent: element("consent"),
  consentError: element("consent-error"),
  photo: element("photo"),
  camera: element("camera"),
  cameraField: element("camera-field"),
  photoError: element("photo-error"),
  preview: element("preview"),
  previewImage: element("preview-image"),
  previewCaption: element("preview-caption"),
  submit: element("submit"),
  job: element("job"),
  jobHeading: element("job-heading"),
  jobStatus: element("job-status"),
  steps: element("steps"),
  outcome: element("outcome"),
  outcomeTitle: element("outcome-title"),
  outcomeMessage: element("outcome-message"),
  outcomeAdvice: element("outcome-advice"),
  result: element("result"),
  resultImage: element("result-image"),
  resultLink: element("result-link"),
  resultExpiry: element("result-expiry"),
  emailNote: element("email-note"),
  styleNote: element("style-note"),
  jobId: element("job-id"),
  deleteButton: element("delete"),
  restartButton: element("restart"),
  deleteStatus: element("delete-status"),
};

const state = {
  config: null,
  api: null,
  ready: null, // resolves to true once config.json is loaded
  job: null, // {id, token}; token is null when the page has no delete token for the job
  file: null,
  previewUrl: null,
  pollGeneration: 0,
  pollTimer: null,
  shownOutcome: null, // the terminal status already rendered, so focus moves only once
};

const fieldErrors = {
  email: [ui.email, ui.emailError],
  consent: [ui.consent, ui.consentError],
  photo: [ui.photo, ui.photoError],
};

// --- small DOM helpers ------------------------------------------------------------------

function show(node, visible = true) {
  node.hidden = !visible;
}

function setText(node, text) {
  node.textContent = text;
}

function showFieldError(field, message) {
  const [input, error] = fieldErrors[field];
  setText(error, message);
  show(error);
  input.setAttribute("aria-invalid", "true");
  return input;
}

function clearErrors() {
  for (const [input, error] of Object.values(fieldErrors)) {
    input.removeAttribute("aria-invalid");
    setText(error, "");
    show(error, false);
  }
  show(ui.pageError, false);
}

function showPageError(error) {
  const text = error.advice ? `${error.message} ${error.advice}` : error.message;
  setText(ui.pageError, text);
  show(ui.pageError);
  ui.pageError.focus();
}

/** Show a UserError next to its field, in the job section once a job exists, or at the top. */
function showError(error) {
  if (!(error instanceof UserError)) {
    console.error(error);
    error = new UserError("Something went wrong in this page.", { advice: "Please reload the page and try again." });
  }
  if (error.field && !ui.form.hidden) {
    const text = error.advice ? `${error.message} ${error.advice}` : error.message;
    showFieldError(error.field, text).focus();
  } else if (state.job && !ui.job.hidden) {
    showOutcome("The upload did not work.", error.message, error.advice);
  } else {
    showPageError(error);
  }
}

// --- configuration and start-up ----------------------------------------------------------

function applyConfig(config) {
  if (config.resultDays !== null) {
    for (const node of document.querySelectorAll('[data-config="result-days"]')) {
      setText(node, String(config.resultDays));
    }
  }
  for (const node of document.querySelectorAll('[data-config="max-upload-mb"]')) {
    setText(node, megabytes(config.maxUploadBytes));
  }
}

async function start() {
  wireEvents();
  // `capture` only matters on phones and tablets; elsewhere the second picker would be a duplicate.
  show(ui.cameraField, window.matchMedia("(pointer: coarse)").matches);

  state.ready = loadConfig().then(
    (config) => {
      state.config = config;
      state.api = new Api(config.apiUrl);
      applyConfig(config);
      return true;
    },
    (error) => {
      ui.submit.disabled = true;
      showPageError(error);
      return false;
    },
  );
  if (!(await state.ready)) {
    return;
  }
  const job = jobFromFragment() ?? rememberedJob();
  if (job) {
    openJob(job);
  }
}

function wireEvents() {
  ui.form.addEventListener("submit", onSubmit);
  ui.photo.addEventListener("change", () => onFileChosen(ui.photo));
  ui.camera.addEventListener("change", () => onFileChosen(ui.camera));
  ui.deleteButton.addEventListener("click", onDelete);
  ui.restartButton.addEventListener("click", onRestart);
  ui.resultImage.addEventListener("load", onPortraitLoaded);
  ui.resultImage.addEventListener("error", onPortraitFailed);
  window.addEventListener("hashchange", () => {
    const job = state.api ? jobFromFragment() : null;
    if (job) {
      openJob(job);
    }
  });
}

// --- the job in the URL fragment and in sessionStorage ------------------------------------

/**
 * Read `#job=<id>&delete=<token>` from the email's link, then drop the fragment from the
 * address bar and history so the delete token is not left there.
 */
function jobFromFragment() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const id = params.get("job");
  if (id === null) {
    return null;
  }
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  if (!isJobId(id)) {
    showPageError(new UserError("This link is incomplete.", { advice: "Please open it again from your email, or copy the whole link." }));
    return null;
  }
  const token = params.get("delete");
  return { id, token: isDeleteToken(token) ? token : null };
}

function rememberedJob() {
  try {
    const saved = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) ?? "null");
    if (saved && isJobId(saved.id)) {
      return { id: saved.id, token: isDeleteToken(saved.token) ? saved.token : null };
    }
  } catch {
    // Storage may be disabled or contain invalid data. The page then starts empty on reload.
  }
  return null;
}

function rememberJob(job) {
  state.job = job;
  try {
    window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(job));
  } catch {
    // Without storage the job is kept in memory only.
  }
}

function forgetJob() {
  state.job = null;
  try {
    window.sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Nothing stored.
  }
}

// --- choosing a photo --------------------------------------------------------------------

function onFileChosen(input) {
  clearErrors();
  const file = input.files && input.files[0];
  if (input === ui.camera && ui.photo.value) {
    ui.photo.value = "";
  } else if (input === ui.photo && ui.camera.value) {
    ui.camera.value = "";
  }
  state.file = file || null;
  showPreview(state.file);
  if (state.file && !looksLikeImage(state.file)) {
    const error = notAPhotoError();
    showFieldError("photo", `${error.message} ${error.advice}`);
  }
}

function showPreview(file) {
  if (state.previewUrl) {
    URL.revokeObjectURL(state.previewUrl);
    state.previewUrl = null;
  }
  if (!file || !looksLikeImage(file)) {
    ui.previewImage.removeAttribute("src");
    show(ui.preview, false);
    return;
  }
  state.previewUrl = URL.createObjectURL(file);
  ui.previewImage.onerror = () => {
    show(ui.previewImage, false);
    setText(ui.previewCaption, `${file.name}: this browser cannot show a preview of it, but it can still be uploaded.`);
  };
  show(ui.previewImage);
  ui.previewImage.src = state.previewUrl;
  setText(ui.previewCaption, `${file.name} (${megabytes(file.size)} MB)`);
  show(ui.preview);
}

// --- submitting ----------------------------------------------------------------------------

function setBusy(busy) {
  for (const fieldset of ui.fieldsets) {
    fieldset.disabled = busy;
  }
  ui.submit.disabled = busy;
  ui.form.setAttribute("aria-busy", String(busy));
  setText(ui.submit, busy ? "Sending your photo…" : "Make my portrait");
}

/** Check the form on the page first, so a job is created only for a complete request. */
function checkForm() {
  const invalid = [];
  const email = ui.email.value.trim();
  if (email === "") {
    invalid.push(showFieldError("email", "Please enter your email address."));
  } else if (!ui.email.checkValidity()) {
    invalid.push(showFieldError("email", "Please enter a valid email address, like name@example.com."));
  }
  if (!ui.consent.checked) {
    invalid.push(showFieldError("consent", "Please tick this box to agree; we cannot make a portrait without it."));
  }
  if (!state.file) {
    invalid.push(showFieldError("photo", "Please choose a photo."));
  }
  return invalid;
}

async function onSubmit(event) {
  event.preventDefault();
  clearErrors();
  if (!(await state.ready)) {
    return;
  }
  const invalid = checkForm();
  if (invalid.length > 0) {
    invalid[0].focus();
    return;
  }

  setBusy(true);
  try {
    const photo = await preparePhoto(state.file, state.config.maxUploadBytes);
    const created = await state.api.createJob(ui.email.value.trim());
    const job = { id: created.job_id, token: isDeleteToken(created.delete_token) ? created.delete_token : null };
    rememberJob(job);
    showJobSection(job);
    setText(ui.jobStatus, "Uploading your photo.");
    ui.jobHeading.focus();

    checkSize(photo, uploadLimit(created.upload) ?? state.config.maxUploadBytes);
    let lastShown = -1;
    await uploadPhoto(created.upload, photo, (percent) => {
      // Announce every 25 % only, so screen readers are not flooded.
      if (percent >= lastShown + 25 || percent === 100) {
        lastShown = percent;
        setText(ui.jobStatus, `Uploading your photo: ${percent} %.`);
      }
    });
    markSteps("VALIDATING", false, {});
    startPolling();
  } catch (error) {
    // Re-enable the form first: a disabled field cannot take the focus that showError moves to it.
    setBusy(false);
    showError(error);
    return;
  }
  setBusy(false);
}

// --- the job section -------------------------------------------------------------------------

function showJobSection(job) {
  stopPolling();
  state.shownOutcome = null;
  setText(ui.jobId, job.id);
  setText(ui.jobHeading, "Your portrait");
  setText(ui.jobStatus, "");
  show(ui.steps);
  markSteps("PENDING_UPLOAD", false, {});
  show(ui.outcome, false);
  show(ui.result, false);
  ui.resultImage.removeAttribute("src");
  ui.resultLink.removeAttribute("href");
  show(ui.emailNote, false);
  show(ui.styleNote, false);
  show(ui.deleteStatus, false);
  show(ui.deleteButton, job.token !== null);
  ui.deleteButton.disabled = false;
  show(ui.pageError, false);
  show(ui.form, false);
  show(ui.job);
}

/** Show a job opened from the email link or from this tab's storage, and follow its status. */
function openJob(job) {
  rememberJob(job);
  showJobSection(job);
  setText(ui.jobStatus, "Loading the status of your job.");
  ui.jobHeading.focus();
  startPolling();
}

function onRestart() {
  stopPolling();
  forgetJob();
  show(ui.job, false);
  ui.photo.value = "";
  ui.camera.value = "";
  state.file = null;
  showPreview(null);
  clearErrors();
  show(ui.form);
  (ui.email.value.trim() === "" ? ui.email : ui.photo).focus();
}

function showOutcome(title, message, advice) {
  setText(ui.outcomeTitle, title);
  setText(ui.outcomeMessage, message);
  setText(ui.outcomeAdvice, advice || "");
  show(ui.outcomeAdvice, Boolean(advice));
  show(ui.outcome);
  ui.outcome.focus();
}

/** Set each progress step to done, current, stopped or todo from the job's status. */
function markSteps(status, notified, history) {
  const reached = { PENDING_UPLOAD: 0, VALIDATING: 1, QUEUED: 2, DONE: 3 };
  const states = ["todo", "todo", "todo", "todo"];
  if (status === "REJECTED" || status === "FAILED") {
    // A job stops at the face check, or at drawing once it was queued.
    const stoppedAt = "QUEUED" in history ? 2 : 1;
    states.fill("done", 0, stoppedAt);
    states[stoppedAt] = "stopped";
    states[3] = notified ? "done" : "current";
  } else {
    const current = reached[status] ?? 0;
    states.fill("done", 0, current);
    states[current] = status === "DONE" && notified ? "done" : "current";
  }
  ui.steps.querySelectorAll("li").forEach((item, index) => {
    const stepState = states[index];
    item.className = `step-${stepState}`;
    if (stepState === "current") {
      item.setAttribute("aria-current", "step");
    } else {
      item.removeAttribute("aria-current");
    }
    let label = item.querySelector(".visually-hidden");
    if (label === null) {
      label = document.createElement("span");
      label.className = "visually-hidden";
      item.append(label);
    }
    setText(label, STEP_STATE_TEXT[stepState] ? `: ${STEP_STATE_TEXT[stepState]}` : "");
  });
}

/** Render one status document from `GET /jobs/{id}`. */
function renderStatus(job) {
  const status = typeof job.status === "string" ? job.status : "";
  const notified = job.notified === true;
  const history = job.history && typeof job.history === "object" ? job.history : {};
  setText(ui.jobStatus, STATUS_TEXT[status] ?? "Working on your portrait.");
  markSteps(status, notified, history);

  if (status === "DONE") {
    setText(ui.emailNote, notified ? "We have sent the portrait to your email address." : "The email with your portrait is on its way.");
    show(ui.emailNote);
    if (state.shownOutcome !== "DONE") {
      state.shownOutcome = "DONE";
      showPortrait(job.result_url, job.result_expires_in);
      // The same notice as the email footer: without GAN weights the server draws a preview.
      show(ui.styleNote, job.style === "preview");
    }
  } else if (status === "REJECTED" || status === "FAILED") {
    setText(ui.emailNote, notified ? "We have also sent this explanation to your email address." : "An email with this explanation is on its way.");
    show(ui.emailNote);
    if (state.shownOutcome !== status) {
      state.shownOutcome = status;
      const message = typeof job.message === "string" && job.message ? job.message : STATUS_TEXT[status];
      const advice = typeof job.advice === "string" ? job.advice : "";
      showOutcome(OUTCOME_TITLE[status], message, advice);
    }
  }
}

function showPortrait(resultUrl, expiresInSeconds) {
  const url = safeHttpUrl(resultUrl);
  if (url === null) {
    showOutcome("Your portrait is ready, but this page cannot show it.", "The portrait is in the email we send you.", "");
    return;
  }
  const minutes = Number.isInteger(expiresInSeconds) ? Math.floor(expiresInSeconds / 60) : 0;
  setText(ui.resultExpiry, minutes > 0 ? `(this link works for ${minutes} minutes, and the one in your email for longer)` : "");
  ui.resultImage.src = url;
  ui.resultLink.href = url;
}

function onPortraitLoaded() {
  show(ui.result);
  ui.result.focus();
}

function onPortraitFailed() {
  if (ui.resultImage.getAttribute("src")) {
    showOutcome("Your portrait is ready, but it did not load here.", "The portrait is in the email we send you.", "Reloading the page gives a fresh link.");
  }
}

// --- polling -----------------------------------------------------------------------------------

function stopPolling() {
  state.pollGeneration += 1;
  window.clearTimeout(state.pollTimer);
  state.pollTimer = null;
}

/** Poll the job's status until it finished and its email was sent, or until a time limit. */
function startPolling() {
  stopPolling();
  const generation = state.pollGeneration;
  const jobId = state.job.id;
  const startedAt = Date.now();
  let finishedAt = null;
  let failures = 0;

  const schedule = () => {
    const delay = Date.now() - startedAt < FAST_POLL_PERIOD_MS ? FAST_POLL_MS : SLOW_POLL_MS;
    state.pollTimer = window.setTimeout(poll, delay);
  };

  const poll = async () => {
    let response;
    try {
      response = await state.api.getJob(jobId);
    } catch {
      response = null;
    }
    if (generation !== state.pollGeneration) {
      return;
    }
    if (response && response.status === 404) {
      showJobGone("Job not found", "This job no longer exists. It was deleted, or it expired.");
      return;
    }
    if (!response || response.status !== 200 || !response.data) {
      failures += 1;
      if (failures >= 3) {
        setText(ui.jobStatus, "We cannot reach the service at the moment. The page keeps trying.");
      }
      schedule();
      return;
    }
    failures = 0;
    renderStatus(response.data);

    if (response.data.finished === true) {
      finishedAt ??= Date.now();
      if (response.data.notified === true || Date.now() - finishedAt > EMAIL_WAIT_MS) {
        return;
      }
    } else if (Date.now() - startedAt > MAX_POLL_MS) {
      setText(ui.jobStatus, "This is taking longer than usual. We will email you when it is done, so you can close this page.");
      return;
    }
    schedule();
  };

  poll();
}

// --- deleting ------------------------------------------------------------------------------------

function showJobGone(heading, text) {
  stopPolling();
  forgetJob();
  setText(ui.jobHeading, heading);
  setText(ui.jobStatus, text);
  show(ui.steps, false);
  show(ui.outcome, false);
  show(ui.result, false);
  ui.resultImage.removeAttribute("src");
  ui.resultLink.removeAttribute("href");
  show(ui.emailNote, false);
  show(ui.styleNote, false);
  show(ui.deleteButton, false);
}

async function onDelete() {
  const job = state.job;
  if (!job || job.token === null) {
    return;
  }
  stopPolling();
  ui.deleteButton.disabled = true;
  setText(ui.deleteStatus, "Deleting your data.");
  show(ui.deleteStatus);
  try {
    const { status, data } = await state.api.deleteJob(job.id, job.token);
    if (status !== 204 && status !== 404) {
      throw apiError(status, data);
    }
    // Confirm with the API that the job is gone before saying so.
    const check = await state.api.getJob(job.id);
    if (check.status !== 404) {
      throw new UserError("Your job still exists after deleting it.", { advice: "Please try “Delete my data” again in a minute." });
    }
    showJobGone("Your data is deleted", "This job no longer exists.");
    setText(ui.deleteStatus, "Your data is deleted: the photo, the portrait and the job record are gone.");
  } catch (error) {
    const userError = error instanceof UserError ? error : new UserError("Deleting did not work.", { advice: "Please try again." });
    setText(ui.deleteStatus, userError.advice ? `${userError.message} ${userError.advice}` : userError.message);
    ui.deleteButton.disabled = false;
  }
  ui.deleteStatus.focus();
}

start();
