// Checks the chosen file and downscales large photos in the browser before upload.

import { UserError } from "./api.js";

// The face is cropped to 256×256 on the server, so 2048 pixels on the long side leave
// plenty of detail while keeping phone photos (often 4000 pixels or more) small to send.
export const MAX_LONG_SIDE = 2048;
const JPEG_QUALITY = 0.9;

// The formats that the server's validator reads. Any other image the browser decodes is re-encoded as JPEG.
const SERVER_TYPES = new Set(["image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"]);
const HEIF_TYPES = new Set(["image/heic", "image/heif"]);
const TYPE_BY_EXTENSION = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heif",
};

export function notAPhotoError() {
  return new UserError("This file is not a photo we can read.", {
    advice: "Please choose a JPEG, PNG, WebP or HEIC photo.",
    field: "photo",
  });
}

export function tooLargeError(size, maxBytes) {
  return new UserError(`This photo is ${megabytes(size)} MB, more than the ${megabytes(maxBytes)} MB we accept.`, {
    advice: "Please choose a smaller photo, or export it from your photo app at a lower resolution.",
    field: "photo",
  });
}

export function megabytes(bytes) {
  const value = bytes / (1024 * 1024);
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** Return the file's MIME type, guessed from its extension when the browser gives none (common for HEIC). */
export function photoType(file) {
  if (file.type) {
    return file.type.toLowerCase();
  }
  const extension = /\.([A-Za-z0-9]+)$/.exec(file.name)?.[1]?.toLowerCase() ?? "";
  return TYPE_BY_EXTENSION[extension] ?? "";
}

export function looksLikeImage(file) {
  return photoType(file).startsWith("image/");
}

/**
 * Prepare the chosen file for upload: `{blob, type, name, resized}`.
 *
 * Photos larger than MAX_LONG_SIDE or maxBytes, and formats the server does not read, are
 * drawn onto a canvas and re-encoded as JPEG. `imageOrientation: "from-image"` applies the
 * EXIF orientation while decoding, so a phone photo stays upright after losing its EXIF.
 * HEIC/HEIF files that this browser cannot decode are sent unchanged, because the server
 * decodes them itself. Throws a UserError for files that are not readable images.
 */
export async function preparePhoto(file, maxBytes) {
  const type = photoType(file);
  if (!type.startsWith("image/")) {
    throw notAPhotoError();
  }
  if (file.size === 0) {
    throw new UserError("The file you chose is empty.", { advice: "Please choose the photo again.", field: "photo" });
  }
  const original = { blob: file, type, name: file.name || "photo", resized: false };

  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    if (HEIF_TYPES.has(type)) {
      return checkSize(original, maxBytes);
    }
    throw notAPhotoError();
  }

  try {
    const longSide = Math.max(bitmap.width, bitmap.height);
    if (longSide <= MAX_LONG_SIDE && SERVER_TYPES.has(type) && file.size <= maxBytes) {
      return original;
    }
    const scale = Math.min(1, MAX_LONG_SIDE / longSide);
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const context = canvas.getContext("2d");
    // JPEG has no transparency: paint white under transparent PNG or WebP pixels.
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
    if (blob === null) {
      throw new UserError("Your browser could not make the photo smaller.", {
        advice: "Please choose a smaller photo.",
        field: "photo",
      });
    }
    const name = `${(file.name || "photo").replace(/\.[^.]*$/, "")}.jpg`;
    return checkSize({ blob, type: "image/jpeg", name, resized: true }, maxBytes);
  } finally {
    bitmap.close();
  }
}

/** Return the prepared photo, or throw the too-large error when it exceeds maxBytes. */
export function checkSize(photo, maxBytes) {
  if (photo.blob.size > maxBytes) {
    throw tooLargeError(photo.blob.size, maxBytes);
  }
  return photo;
}
