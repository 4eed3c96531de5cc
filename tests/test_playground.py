"""nnscratch.playground: settings -> data and network, training steps, figures, the layout
experiment, and the widget (built without a display)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from nnscratch import playground as pg

pytestmark = pytest.mark.usefixtures("close_figures")  # Agg backend: tests/conftest.py


def test_settings_build_the_network_and_data_they_describe():
    s = pg.Settings(dataset="XOR", hidden=[5, 3], activation="relu", n=60, seed=3)
    assert s.dataset == "xor" and s.hidden == (5, 3)
    net = pg.build_network(s)
    assert net.sizes == [2, 5, 3, 1]
    assert [h.name for h in net.hidden] == ["relu", "relu"] and net.output.name == "tanh"
    assert net.loss.name == "quadratic" and net.task == "classification"
    X_train, t_train, X_test, t_test = pg.make_data(s)
    assert X_train.shape == (30, 2) and X_test.shape == (30, 2)
    assert set(np.unique(np.concatenate([t_train, t_test]))) == {-1, 1}
    assert np.abs(np.vstack([X_train, X_test])).max() <= 6.5 / pg.INPUT_SCALE
    # same seed, same data and weights
    assert np.array_equal(pg.make_data(s)[0], X_train)
    assert np.array_equal(pg.build_network(s).W[0], net.W[0])
    assert pg.build_network(pg.Settings(hidden=())).sizes == [2, 1]


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"dataset": "moons"}, "dataset"),
        ({"noise": 0.7}, "noise"),
        ({"noise": -0.1}, "noise"),
        ({"hidden": (4, 0)}, "hidden layer width"),
        ({"hidden": 4}, "sequence of layer widths"),
        ({"activation": "softmax"}, "activation"),
        ({"eta": 0.0}, "eta"),
        ({"lmbda": -1.0}, "lmbda"),
        ({"batch_size": 0}, "batch_size"),
        ({"n": 3}, "at least 4"),
    ],
)
def test_bad_settings_are_rejected(changes, match):
    with pytest.raises(ValueError, match=match):
        pg.Settings(**changes)


def test_step_trains_and_records_costs_and_reset_starts_again():
    p = pg.Playground(dataset="gauss", hidden=(4,), n=100, seed=1)
    w0 = p.net.W[0].copy()
    assert p.epoch == 0 and len(p.train_loss) == len(p.test_loss) == 1
    p.step(1)
    assert p.epoch == 1 and len(p.train_loss) == 2
    assert not np.array_equal(p.net.W[0], w0)  # one step changed the weights
    assert p.train_loss[-1] == pytest.approx(p.net.cost(p.X_train, p.t_train))
    p.step(20)
    assert p.epoch == 21 and len(p.test_loss) == 22
    assert p.train_loss[-1] < 0.5 * p.train_loss[0]  # gauss is easy: the cost falls
    assert p.test_accuracy > 0.9
    p.step(5, record=False)
    assert p.epoch == 26 and len(p.train_loss) == 23
    p.reset(hidden=(3, 3))
    assert p.epoch == 0 and p.net.sizes == [2, 3, 3, 1] and len(p.train_loss) == 1
    assert "gauss" in p.describe() and "2 → 3 → 3 → 1" in p.describe()
    with pytest.raises(ValueError, match="epochs"):
        p.step(0)
    with pytest.raises(ValueError, match="Settings"):
        pg.Playground({"dataset": "xor"})


def test_training_is_reproducible():
    a, b = pg.Playground(dataset="xor", n=80, seed=5), pg.Playground(dataset="xor", n=80, seed=5)
    a.step(3)
    b.step(3)
    assert a.train_loss == b.train_loss


def test_figure_shows_function_and_costs():
    p = pg.Playground(dataset="circle", n=60)
    p.step(2)
    fig = p.figure()
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert axes[0].get_xlabel() == "$x_1$" and axes[1].get_xlabel() == "epoch"
    assert "circle" in axes[0].get_title() and axes[1].get_title() == "epoch 2"
    assert len(axes[1].get_lines()) == 2 and len(axes[1].get_lines()[0].get_xdata()) == 3
    # drawing into a given figure replaces its content
    assert p.figure(fig) is fig and len(fig.axes) == len(axes) + 1


def test_snapshot_grid_trains_every_dataset():
    fig, sessions = pg.snapshot_grid(("gauss", "xor"), epochs=3, settings=pg.Settings(n=40))
    assert list(sessions) == ["gauss", "xor"]
    assert all(s.epoch == 3 for s in sessions.values())
    titles = [ax.get_title() for ax in fig.axes]
    assert "gauss: cost, epoch 3" in titles and "xor: cost, epoch 3" in titles
    with pytest.raises(ValueError, match="at least one"):
        pg.snapshot_grid(())


def test_balanced_layouts():
    assert pg.balanced_layouts(8) == [(8,), (4, 4), (3, 3, 2), (2, 2, 2, 2)]
    assert pg.balanced_layouts(3, max_layers=4) == [(3,), (2, 1), (1, 1, 1)]
    assert all(sum(layout) == 16 for layout in pg.balanced_layouts(16))
    with pytest.raises(ValueError, match="budget"):
        pg.balanced_layouts(0)


def test_layout_accuracy_shape_and_values():
    acc = pg.layout_accuracy(
        [(4,), (2, 2)], ("gauss",), seeds=(0, 1), epochs=10, settings=pg.Settings(n=60)
    )
    assert acc.shape == (1, 2, 2)
    assert np.all((acc >= 0) & (acc <= 1)) and acc.mean() > 0.9  # gauss is separable
    with pytest.raises(ValueError, match="at least one layout"):
        pg.layout_accuracy([], ("gauss",))


def test_widget_builds_and_buttons_work():
    pytest.importorskip("ipywidgets")
    p = pg.Playground(dataset="xor", n=40)
    box = p.widget(epochs_per_click=4, redraw_every=2)
    buttons = {b.description: b for b in box.children[1].children if hasattr(b, "on_click")}
    assert set(buttons) == {"train", "step", "reset"}
    image = box.children[2]
    first = bytes(image.value)
    assert first.startswith(b"\x89PNG")  # the figure, drawn before any click
    buttons["step"].click()
    assert (
        p.epoch == 1
        and bytes(image.value) != first
        and "epoch 1" in box.children[1].children[-1].value
    )
    buttons["train"].click()
    assert p.epoch == 5 and len(p.train_loss) == 6
    layers, neurons = box.children[0].children[0].children[2:4]
    layers.value, neurons.value = 3, 2
    buttons["reset"].click()
    assert p.epoch == 0 and p.net.sizes == [2, 2, 2, 2, 1]
