"""manifest.json: what an installed weights file contains and its checksum.

The manifest is written after the weights file is in place, so a directory
with a manifest always refers to a complete file. The model fields are also
stored in the safetensors header (metadata key `selfie2anime`), so a weights
file copied without its manifest can still be installed.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from container.model.config import UGATITConfig
from container.model.networks import GENERATOR_A2B, NETWORK_NAMES
from container.weights.errors import ManifestError
from container.weights.files import atomic_write_text
from container.weights.paths import MANIFEST_NAME

MANIFEST_VERSION = 1
# `format` names the parameter layout of the tensors in the safetensors file.
FORMAT_TF = "ugatit-tf"
FORMAT_PYTORCH = "ugatit-pytorch"
FORMAT_BY_LAYOUT = {"tf": FORMAT_TF, "pytorch": FORMAT_PYTORCH}
LAYOUT_BY_FORMAT = {value: key for key, value in FORMAT_BY_LAYOUT.items()}
SAFETENSORS_METADATA_KEY = "selfie2anime"


@dataclass(frozen=True, kw_only=True)
class ModelDescription:
    """The model fields shared by manifest.json and the safetensors header."""

    format: str
    mode: str
    image_size: int
    channels: int
    n_res: int = 4
    smoothing: bool = True
    cam_variant: str = "shared"
    global_dis_layers: int = 7
    local_dis_layers: int = 5
    networks: tuple[str, ...] = (GENERATOR_A2B,)

    @classmethod
    def from_config(cls, config: UGATITConfig, networks: tuple[str, ...]) -> ModelDescription:
        """Describe a model built from `config` that contains `networks`."""
        return cls(
            format=FORMAT_BY_LAYOUT[config.layout],
            mode=config.mode,
            image_size=config.image_size,
            channels=config.channels,
            n_res=config.n_res,
            smoothing=config.smoothing,
            cam_variant=config.cam_variant,
            global_dis_layers=config.global_dis_layers,
            local_dis_layers=config.local_dis_layers,
            networks=networks,
        )

    def to_config(self) -> UGATITConfig:
        """Return the network configuration these weights need.

        Raises:
            ManifestError: the format or a field value is not supported.
        """
        if self.format not in LAYOUT_BY_FORMAT:
            raise ManifestError(
                f"unsupported weights format {self.format!r}; expected one of {', '.join(LAYOUT_BY_FORMAT)}. "
                "Install the weights again with `selfie2anime model install`."
            )
        try:
            return UGATITConfig(
                mode=self.mode,  # type: ignore[arg-type]
                layout=LAYOUT_BY_FORMAT[self.format],  # type: ignore[arg-type]
                channels=self.channels,
                n_res=self.n_res,
                image_size=self.image_size,
                smoothing=self.smoothing,
                cam_variant=self.cam_variant,  # type: ignore[arg-type]
                global_dis_layers=self.global_dis_layers,
                local_dis_layers=self.local_dis_layers,
            )
        except ValueError as error:
            raise ManifestError(f"invalid model description: {error}") from error

    def header_metadata(self) -> dict[str, str]:
        """Return the safetensors header metadata that records these fields."""
        return {SAFETENSORS_METADATA_KEY: json.dumps(_jsonable(asdict(self)), sort_keys=True)}

    @classmethod
    def from_header_metadata(cls, metadata: dict[str, str] | None, *, file: Path) -> ModelDescription:
        """Read the fields written by `header_metadata`.

        Raises:
            ManifestError: the header has no selfie2anime model description.
        """
        if not metadata or SAFETENSORS_METADATA_KEY not in metadata:
            raise ManifestError(
                f"{file} has no manifest.json beside it and no selfie2anime description in its header; "
                "put the manifest.json that came with it in the same directory, or install the original "
                "UGATIT-pytorch .pt checkpoint or TensorFlow checkpoint directory instead"
            )
        try:
            values = json.loads(metadata[SAFETENSORS_METADATA_KEY])
        except json.JSONDecodeError as error:
            raise ManifestError(f"{file}: the selfie2anime header entry is not valid JSON ({error})") from error
        return _build(cls, values, source=f"the header of {file}")


@dataclass(frozen=True, kw_only=True)
class Manifest(ModelDescription):
    """Contents of manifest.json in the weights directory.

    Attributes:
        file: name of the safetensors file, relative to the weights directory.
        sha256: hex SHA-256 of that file.
        size_bytes: its size, which catches a truncated file without hashing it.
        source: the path or URL it was installed from.
        installed_at: UTC time of installation, ISO 8601.
    """

    file: str
    sha256: str
    size_bytes: int
    source: str = ""
    installed_at: str = ""
    manifest_version: int = MANIFEST_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def description(self) -> ModelDescription:
        """The model fields without the file details."""
        names = {item.name for item in fields(ModelDescription)}
        return ModelDescription(**{name: getattr(self, name) for name in names})

    def to_json(self) -> str:
        """Serialise as pretty-printed JSON."""
        values = _jsonable(asdict(self))
        values.update(values.pop("extra"))
        return json.dumps(values, indent=2, sort_keys=True) + "\n"


def require_generator(description: ModelDescription) -> None:
    """Raise ManifestError unless the weights contain the A->B generator, the network the worker runs."""
    if GENERATOR_A2B not in description.networks:
        found = ", ".join(description.networks) or "none"
        raise ManifestError(
            f"the weights have no {GENERATOR_A2B} generator (networks: {found}), and the worker runs "
            f"{GENERATOR_A2B}; install a checkpoint that contains it"
        )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value for key, value in values.items()}


def _build(cls: type, values: Any, *, source: str) -> Any:
    """Construct `cls` from a JSON object, checking names and types."""
    if not isinstance(values, dict):
        raise ManifestError(f"{source} is not a JSON object")
    known = {item.name: item for item in fields(cls) if item.name != "extra"}
    missing = [name for name, item in known.items() if name not in values and _is_required(item)]
    if missing:
        raise ManifestError(
            f"{source} lacks {', '.join(missing)}; install the weights again with `selfie2anime model install`"
        )
    arguments: dict[str, Any] = {}
    for name, value in values.items():
        if name not in known:
            continue
        if name == "networks":
            if not isinstance(value, list) or not all(item in NETWORK_NAMES for item in value):
                raise ManifestError(f"{source}: networks must be a list of {', '.join(NETWORK_NAMES)}, got {value!r}")
            if len(set(value)) != len(value):
                raise ManifestError(f"{source}: networks lists a network twice: {value!r}")
            value = tuple(value)
        arguments[name] = value
    if "extra" in {item.name for item in fields(cls)}:
        arguments["extra"] = {name: value for name, value in values.items() if name not in known}
    try:
        built = cls(**arguments)
    except TypeError as error:
        raise ManifestError(f"{source} is invalid: {error}") from error
    _check_types(built, source)
    return built


def _is_required(item: Any) -> bool:
    return item.default is MISSING and item.default_factory is MISSING


def read_manifest(weights_dir: Path) -> Manifest:
    """Read and check manifest.json in `weights_dir`.

    Raises:
        FileNotFoundError: there is no manifest.json.
        ManifestError: it is not valid JSON, lacks fields or has a newer version.
    """
    path = weights_dir / MANIFEST_NAME
    raw = path.read_bytes()
    try:
        values = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        reason = "nesting too deep" if isinstance(error, RecursionError) else str(error)
        raise ManifestError(
            f"{path} is not valid UTF-8 JSON ({reason}); install the weights again with `selfie2anime model install`, "
            "which replaces it"
        ) from error
    manifest: Manifest = _build(Manifest, values, source=str(path))
    if manifest.manifest_version > MANIFEST_VERSION:
        raise ManifestError(
            f"{path} has manifest_version {manifest.manifest_version}, newer than the supported "
            f"{MANIFEST_VERSION}; upgrade selfie2anime"
        )
    name = manifest.file
    if "/" in name or "\\" in name or "\0" in name or not name.endswith(".safetensors") or name.startswith("."):
        raise ManifestError(
            f"{path}: file must be the name of a .safetensors file inside the weights directory, got {name!r}; "
            "install the weights again with `selfie2anime model install`"
        )
    return manifest


# JSON types of the fields that manifest.json and the safetensors header carry.
_FIELD_TYPES: dict[str, type] = {
    "format": str, "mode": str, "image_size": int, "channels": int, "n_res": int, "smoothing": bool,
    "cam_variant": str, "global_dis_layers": int, "local_dis_layers": int,
    "file": str, "sha256": str, "size_bytes": int, "source": str, "installed_at": str, "manifest_version": int,
}  # fmt: skip


_TYPE_WORDS = {str: "a string", int: "an integer", bool: "true or false"}


def _check_types(description: ModelDescription, source: str) -> None:
    """Raise ManifestError if a field of `description` has the wrong JSON type."""
    for item in fields(description):
        kind = _FIELD_TYPES.get(item.name)
        value = getattr(description, item.name)
        if kind is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            raise ManifestError(f"{source}: {item.name} must be {_TYPE_WORDS[kind]}, got {value!r}")


def write_manifest(weights_dir: Path, manifest: Manifest) -> None:
    """Atomically replace manifest.json in `weights_dir`."""
    atomic_write_text(weights_dir / MANIFEST_NAME, manifest.to_json())
