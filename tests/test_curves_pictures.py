"""curves.png explains itself: a run with one logged point shows it; a variant's own loss terms get a panel."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from ganforge.evaluation.curves import own_terms, plot_curves

LOSS_D_BLUE = (0x1F, 0x77, 0xB4)  # matplotlib's tab:blue, loss_d's colour


def write_metrics(run, *records):
    run.mkdir(parents=True, exist_ok=True)
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def blue_pixels(path) -> int:
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return int((np.abs(pixels - LOSS_D_BLUE).sum(axis=2) < 40).sum())


def test_a_run_with_one_logged_point_shows_it(tmp_path):
    write_metrics(tmp_path / "one", {"step": 5, "epoch": 1, "loss_d": 1.3, "loss_g": 0.7, "d_real": 0.5, "d_fake": 0.5})
    picture = plot_curves(tmp_path / "one")
    assert blue_pixels(picture) > 20  # loss_d's single point is drawn as a dot (a one-point line draws nothing)


def test_the_variants_own_terms_get_a_panel_of_their_own(tmp_path):
    common = {"epoch": 1, "loss_d": 0.5, "loss_g": 2.0, "d_real": 0.6, "d_fake": 0.4, "images_per_s": 100.0, "lr": {"g": 1e-4}}
    write_metrics(tmp_path / "cycle", *({"step": s, **common, "adversarial": 0.3, "cycle": 1.0 / s, "identity": 0.5 / s} for s in (1, 2, 3)))
    write_metrics(tmp_path / "plain", *({"step": s, **common} for s in (1, 2, 3)))
    assert own_terms([{"step": 1, **common, "cycle": 1.0, "identity": 0.5, "loss_match": 0.2, "augment_p": 0.1}]) == ["cycle", "identity", "loss_match"]
    with_terms, plain = Image.open(plot_curves(tmp_path / "cycle")), Image.open(plot_curves(tmp_path / "plain"))
    assert with_terms.height == plain.height * 3 // 2  # three panels of the same height instead of two


def test_the_scatter_plot_has_numbered_axes_and_a_legend():
    import torch

    from ganforge.images import AXIS_GREY, CENTRE_BLUE, SAMPLE_RED, SCATTER_MARGIN, scatter_plot

    centres = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    picture = np.asarray(scatter_plot(torch.zeros(4, 2), centres)).astype(int)
    left, top, right, bottom = SCATTER_MARGIN
    size = picture.shape[0]
    plot = size - left - bottom if size - left - right > size - top - bottom else size - left - right

    def has(region, colour):
        return bool((np.abs(region - colour).sum(axis=2) < 30).any())

    assert has(picture[top + plot - 2 : top + plot + 2, left + 10 : left + plot - 10], AXIS_GREY)  # the x axis
    assert has(picture[top + plot + 5 :, :], AXIS_GREY) and has(picture[:, : left - 6], AXIS_GREY)  # their numbers
    legend = picture[top : top + 50, left + plot - 150 : left + plot]
    assert has(legend, SAMPLE_RED) and has(legend, CENTRE_BLUE)  # a key for each kind of mark
