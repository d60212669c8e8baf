"""Drafting a spec from a folder of class folders (``tfxp spec init FOLDER``), the layout Keras'
``image_dataset_from_directory`` reads: ``<folder>/<class>/<file>`` with JPEG/PNG images or
``.txt`` texts; with ``train/`` and ``test/`` (or ``eval/``) subfolders, those are the splits.

The classes are the subfolders' names; an image size comes from the images (the most common
size, each side at most ``MAX_SIDE``); the files are read where they are, as the archive
reader reads a tar of them (``format: archive``).
"""
from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tfxp_contract.dataset_spec import SpecError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
TEXT_SUFFIXES = (".txt",)
SPLIT_FOLDERS = {"train": ("train", "training"), "eval": ("test", "eval", "validation", "val")}
MAX_SIDE = 128  # a larger image is resized to this in Transform (the draft's shape)
SAMPLED_IMAGES = 200


@dataclass
class FolderDraft:
    name: str
    path: str
    content: str  # image or text
    label: str  # the label feature's name
    classes: list[str]
    counts: dict[str, int]  # files per class
    splits: dict[str, str]  # {"train": folder, "eval": folder}, or {} for a hash split
    shape: tuple[int, int, int] = (0, 0, 0)  # images


def _classes_in(folder: Path) -> dict[str, list[Path]]:
    return {child.name: sorted(f for f in child.iterdir() if f.is_file())
            for child in sorted(folder.iterdir()) if child.is_dir() and not child.name.startswith(".")}


def draft_folder(path: str, label: str = "label", name: Optional[str] = None) -> FolderDraft:
    folder = Path(path)
    subfolders = {child.name.lower(): child.name for child in folder.iterdir() if child.is_dir()}
    splits = {}
    for split, names in SPLIT_FOLDERS.items():
        found = next((subfolders[n] for n in names if n in subfolders), None)
        if found:
            splits[split] = found
    if splits and set(splits) != {"train", "eval"}:
        raise SpecError(f"{folder}: a split folder ({', '.join(splits.values())}) without the other: give both "
                        "train/ and test/ (or eval/), each with the class folders, or none")
    per_class: dict[str, list[Path]] = {}
    for root in ([folder / f for f in splits.values()] if splits else [folder]):
        for cls, files in _classes_in(root).items():
            per_class.setdefault(cls, []).extend(files)
    files = [f for fs in per_class.values() for f in fs]
    images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
    texts = [f for f in files if f.suffix.lower() in TEXT_SUFFIXES]
    if len(per_class) < 2 or not (images or texts):
        raise SpecError(f"{folder}: expected class folders holding images (JPEG/PNG) or .txt files, e.g. "
                        f"{folder}/cats/1.jpg and {folder}/dogs/2.jpg; found {len(per_class)} folder(s) and "
                        f"{len(images)} image(s), {len(texts)} text(s)")
    content = "image" if len(images) >= len(texts) else "text"
    suffixes = IMAGE_SUFFIXES if content == "image" else TEXT_SUFFIXES
    counts = {cls: sum(f.suffix.lower() in suffixes for f in fs) for cls, fs in per_class.items()}
    counts = {cls: n for cls, n in counts.items() if n}
    draft = FolderDraft(name=name or _name_for(folder), path=str(folder), content=content, label=label,
                        classes=sorted(counts), counts=counts, splits=splits)
    if content == "image":
        draft.shape = _image_shape(images)
    return draft


def _image_shape(images: list[Path]) -> tuple[int, int, int]:
    """The most common (height, width, channels) of a sample, each side at most ``MAX_SIDE``."""
    from PIL import Image, UnidentifiedImageError

    step = max(1, len(images) // SAMPLED_IMAGES)
    sizes: Counter = Counter()
    for path in images[::step]:
        try:
            with Image.open(path) as image:
                channels = 1 if image.mode in ("L", "1", "I", "F") else 3
                sizes[(image.height, image.width, channels)] += 1
        except (UnidentifiedImageError, OSError):
            continue
    if not sizes:
        raise SpecError(f"{images[0].parent.parent}: none of the sampled images could be decoded")
    height, width, channels = sizes.most_common(1)[0][0]
    scale = min(1.0, MAX_SIDE / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale)), channels


def _name_for(folder: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", folder.name).strip("._-") or "my_files"
    return name if name[0].isalnum() else f"d{name}"


def _quote(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def render_folder_yaml(draft: FolderDraft, spec_path: str) -> str:
    data_path = os.path.relpath(os.path.abspath(draft.path), os.path.dirname(os.path.abspath(spec_path)))
    file_name = Path(draft.path).name
    total = sum(draft.counts.values())
    majority = max(draft.counts.values()) / total
    lines = [
        f"# Drafted by `tfxp spec init` from the folder {draft.path}: {total} {draft.content} files in "
        f"{len(draft.classes)} class folders",
        "# (" + ", ".join(f"{c} {n}" for c, n in draft.counts.items()) + "). Edit freely, then `tfxp run` this file.",
        f"name: {draft.name}",
        f"description: {_quote(draft.content + 's of ' + ', '.join(draft.classes[:5]) + ('...' if len(draft.classes) > 5 else ''))}",
        "# Read as a tar of the same folders would be: the class is the name of a file's folder.",
        "format: archive",
        "files:",
        f"  - path: {_quote(data_path)}",
        "columns:",
    ]
    if draft.content == "image":
        lines.append(f"  # the most common image size (each side at most {MAX_SIDE}); others are resized to it")
        lines.append(f"  - {{name: image, type: image, shape: [{', '.join(map(str, draft.shape))}]}}")
    else:
        lines.append("  # the 20,000 most frequent words and word pairs; the model reads each distinct one of a text")
        lines.append("  # (up to 400) with its naive-Bayes ratio learned over the training texts")
        lines.append("  - {name: text, type: text, vocabulary_size: 20000, sequence_length: 400, ngrams: 2, weighting: nb}")
    lines += [
        f"  - {{name: {_quote(draft.label)}, type: categorical}}",
        "label:",
        f"  column: {_quote(draft.label)}",
        "  values: [" + ", ".join(_quote(c) for c in draft.classes) + "]  # the class folders",
    ]
    if draft.splits:
        lines += [f"# The folder's own split: {draft.splits['train']}/ trains, {draft.splits['eval']}/ evaluates.",
                  f"published_splits: {{train: {_quote(file_name)}, eval: {_quote(file_name)}}}",
                  f"archive_split_folders: {{train: {_quote(draft.splits['train'])}, "
                  f"eval: {_quote(draft.splits['eval'])}}}"]
    else:
        lines += ["# 4:1 hash split of the files into train and eval.", "train_eval_buckets: [4, 1]"]
    if draft.content == "image":
        lines += ["model:", "  family: cnn  # convolution blocks with batch norm, from scratch",
                  "  hyperparameters: {filters: [32, 64], dense_units: 64, dropout: 0.3, learning_rate: 0.001, "
                  "epochs: 10, batch_size: 32}"]
    else:
        lines += ["model:", "  family: text_nb  # linear over the distinct words and pairs, scaled by naive-Bayes ratios",
                  "  hyperparameters: {learning_rate: 0.003, epochs: 10, batch_size: 32}"]
    bound = min(0.99, round(majority + 0.05, 2))
    lines += [f"# Always answering the largest class scores {majority:.4f}; a model must beat it by 0.05.",
              "metrics:", f"  - {{name: accuracy, lower_bound: {bound:g}}}"]
    return "\n".join(lines) + "\n"
