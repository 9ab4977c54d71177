"""docs/figures.md agrees with the generator's list (docs/make_figures.py COMMANDS): every command line the page
shows is one the generator runs, every image it links exists and is one the generator draws, and the page is
exactly what the generator renders. Cheap: nothing is run."""
from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def gen():
    spec = importlib.util.spec_from_file_location("make_figures", DOCS / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module        # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def page():
    return (DOCS / "figures.md").read_text(encoding="utf-8")


def shown_commands(text):
    """The command lines of the page's ```sh blocks."""
    return re.findall(r"^```sh\n(.*?)\n```$", text, flags=re.MULTILINE)


def linked_images(text):
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text)


def test_every_command_on_the_page_is_one_the_generator_runs(gen, page):
    shown = shown_commands(page)
    assert shown, "no ```sh command block found in docs/figures.md"
    runs = {c.line for c in gen.COMMANDS}
    assert set(shown) - runs == set(), "commands on the page that the generator does not run"
    assert runs - set(shown) == set(), "commands the generator runs that the page does not show"
    for line in shown:                     # a line the generator prints can be pasted into a shell as it is
        assert shlex.split(line)[0] == "neurobox"


def test_every_linked_image_exists_and_is_drawn_by_the_generator(gen, page):
    links = linked_images(page)
    assert len(links) == len(gen.figures())
    for link in links:
        path = (DOCS / link).resolve()
        assert path.is_file(), f"docs/figures.md links {link}, which does not exist"
        assert path.parent == gen.IMAGES.resolve()
    assert {Path(link).name for link in links} == {f.image for _, f in gen.figures()}


def test_each_figure_has_a_heading_caption_command_and_image_in_that_order(gen, page):
    for command, fig in gen.figures():
        at = page.index(f"### {fig.title}\n")
        section = page[at:page.find("\n### ", at + 1)]
        image = section.index(f"](images/figures/{fig.image})")
        assert section.index(fig.caption) < section.index(command.line) < image


def test_the_page_is_what_the_generator_renders(gen, page):
    assert page == gen.render(), "docs/figures.md is stale: run `make figures` (or docs/make_figures.py)"


def test_the_gallery_stays_light(gen):
    sizes = {f.image: (gen.IMAGES / f.image).stat().st_size for _, f in gen.figures()}
    assert max(sizes.values()) <= gen.MAX_IMAGE_BYTES, sizes
    assert sum(sizes.values()) <= gen.MAX_TOTAL_BYTES
    assert {p.name for p in gen.IMAGES.iterdir()} == set(sizes), "files in docs/images/figures/ not in the list"


def test_the_list_is_consistent(gen):
    gen._check_list()
    for command in gen.COMMANDS:
        assert command.figures
        for fig in command.figures:
            assert fig.caption.endswith(".") and fig.title and fig.image.endswith(".png")
