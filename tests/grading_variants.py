"""Student submissions for tests/test_grading.py: Nielsen's ``Network`` scaffold plus
``backprop`` bodies (correct, buggy, hostile) as source strings.

:func:`make_network` executes the scaffold with a body in a fresh module namespace, as a notebook
cell would; forked children inherit that namespace like they inherit a kernel's. The source is
registered in ``linecache`` so tracebacks can quote the student's line.
"""

from __future__ import annotations

import linecache
import textwrap
import types

SCAFFOLD = '''
import random
import numpy as np


class Network:
    """Nielsen's network.py (Python 3), with backprop left to the student."""

    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None):
        training_data = list(training_data)
        n = len(training_data)
        if test_data:
            test_data = list(test_data)
            n_test = len(test_data)
        for j in range(epochs):
            random.shuffle(training_data)
            mini_batches = [training_data[k:k + mini_batch_size]
                            for k in range(0, n, mini_batch_size)]
            for mini_batch in mini_batches:
                self.update_mini_batch(mini_batch, eta)
            if test_data:
                print("Epoch {} : {} / {}".format(j, self.evaluate(test_data), n_test))
            else:
                print("Epoch {} complete".format(j))

    def update_mini_batch(self, mini_batch, eta):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
{body}

    def evaluate(self, test_data):
        test_results = [(np.argmax(self.feedforward(x)), y) for (x, y) in test_data]
        return sum(int(x == y) for (x, y) in test_results)

    def cost_derivative(self, output_activations, y):
        return output_activations - y


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))
'''

# --------------------------------------------------------------------------------------------
# Correct solutions, written three different ways
# --------------------------------------------------------------------------------------------

NIELSEN = """
nabla_b = [np.zeros(b.shape) for b in self.biases]
nabla_w = [np.zeros(w.shape) for w in self.weights]
activation = x
activations = [x]
zs = []
for b, w in zip(self.biases, self.weights):
    z = np.dot(w, activation) + b
    zs.append(z)
    activation = sigmoid(z)
    activations.append(activation)
delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])
nabla_b[-1] = delta
nabla_w[-1] = np.dot(delta, activations[-2].transpose())
for l in range(2, self.num_layers):
    z = zs[-l]
    sp = sigmoid_prime(z)
    delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
    nabla_b[-l] = delta
    nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
return (nabla_b, nabla_w)
"""

# per-neuron loops for the products, np.outer for eq. BP4
LOOPS = """
activations = [x[:, 0].copy()]
zs = []
for b, w in zip(self.biases, self.weights):
    n_out, n_in = w.shape
    z = np.zeros(n_out)
    for j in range(n_out):
        z[j] = np.dot(w[j], activations[-1]) + b[j, 0]
    zs.append(z)
    activations.append(np.array([1.0 / (1.0 + np.exp(-zj)) for zj in z]))
L = len(self.weights)
nabla_b = [None] * L
nabla_w = [None] * L
target = y[:, 0]
delta = np.array([(activations[-1][j] - target[j]) * sigmoid_prime(zs[-1][j])
                  for j in range(len(target))])
for i in range(L - 1, -1, -1):
    nabla_b[i] = delta.reshape(-1, 1)
    nabla_w[i] = np.outer(delta, activations[i])
    if i == 0:
        break
    W = self.weights[i]
    previous = np.zeros(W.shape[1])
    for k in range(W.shape[1]):
        s = 0.0
        for j in range(W.shape[0]):
            s += W[j, k] * delta[j]
        previous[k] = s * sigmoid_prime(zs[i - 1][k])
    delta = previous
return nabla_b, nabla_w
"""

# recursive, with @ and another formula for sigma'
RECURSIVE = """
def dsig(z):
    e = np.exp(-z)
    return e / (1.0 + e) ** 2

def down(i, a):
    # gradients of layers i.., and (W^i)^T delta^i for the layer below
    z = self.weights[i] @ a + self.biases[i]
    a_next = 1.0 / (1.0 + np.exp(-z))
    if i == len(self.weights) - 1:
        delta = (a_next - y) * dsig(z)
        nbs, nws = [], []
    else:
        back, nbs, nws = down(i + 1, a_next)
        delta = back * dsig(z)
    return self.weights[i].T @ delta, [delta] + nbs, [delta @ a.T] + nws

_, nabla_b, nabla_w = down(0, x)
return nabla_b, nabla_w
"""

CORRECT = {"nielsen": NIELSEN, "loops": LOOPS, "recursive": RECURSIVE}

# --------------------------------------------------------------------------------------------
# Buggy solutions: each a small edit of NIELSEN
# --------------------------------------------------------------------------------------------


def _edit(old: str, new: str, source: str = NIELSEN, count: int = -1) -> str:
    if old not in source:
        raise ValueError(f"{old!r} not in the source")
    return source.replace(old, new, count)


_OUT_DELTA = "delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])"
_HID_DELTA = "delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp"

BUGGY = {
    "sign": _edit(_OUT_DELTA, "delta = (y - activations[-1]) * sigmoid_prime(zs[-1])"),
    "no_sp_output": _edit(_OUT_DELTA, "delta = self.cost_derivative(activations[-1], y)"),
    "no_sp_hidden": _edit(_HID_DELTA, "delta = np.dot(self.weights[-l + 1].transpose(), delta)"),
    "sp_of_a_hidden": _edit("sp = sigmoid_prime(z)", "sp = sigmoid_prime(activations[-l])"),
    "sp_of_a_all": _edit(
        "sigmoid_prime(zs[-1])",
        "sigmoid_prime(activations[-1])",
        _edit("sp = sigmoid_prime(z)", "sp = sigmoid_prime(activations[-l])"),
    ),
    "wrong_layer_weights": _edit("self.weights[-l + 1]", "self.weights[-l]"),
    "transposed_outer": _edit(
        "np.dot(delta, activations[-2].transpose())",
        "np.dot(activations[-2], delta.transpose())",
        _edit(
            "np.dot(delta, activations[-l - 1].transpose())",
            "np.dot(activations[-l - 1], delta.transpose())",
        ),
    ),
    "bp4_same_layer": _edit(
        "activations[-2].transpose()",
        "activations[-1].transpose()",
        _edit("activations[-l - 1].transpose()", "activations[-l].transpose()"),
    ),
    "bias_flat": _edit(
        "nabla_b[-1] = delta",
        "nabla_b[-1] = delta.ravel()",
        _edit("nabla_b[-l] = delta", "nabla_b[-l] = delta.ravel()"),
    ),
    "bias_summed": _edit(
        "nabla_b[-1] = delta",
        "nabla_b[-1] = np.sum(delta)",
        _edit("nabla_b[-l] = delta", "nabla_b[-l] = np.sum(delta)"),
    ),
    "swapped": _edit("return (nabla_b, nabla_w)", "return (nabla_w, nabla_b)"),
    "factor2": _edit(
        _OUT_DELTA, "delta = 2 * self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])"
    ),
    "half": _edit(
        _OUT_DELTA, "delta = 0.5 * self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])"
    ),
    "hidden_zero": _edit("for l in range(2, self.num_layers):", "for l in range(2, 2):"),
    "delta_reused": _edit(_HID_DELTA, "pass  # delta is never updated"),
    "local_sp_only": _edit(
        _OUT_DELTA,
        "error = self.cost_derivative(activations[-1], y)\ndelta = error * sigmoid_prime(zs[-1])",
        _edit(
            _HID_DELTA,
            "error = np.dot(self.weights[-l + 1].transpose(), error)\n    delta = error * sp",
        ),
    ),
    "modifies_weights": _edit(
        "return (nabla_b, nabla_w)",
        "self.weights[-1] -= 0.5 * nabla_w[-1]\nreturn (nabla_b, nabla_w)",
    ),
    "extra_layer": _edit(
        "return (nabla_b, nabla_w)",
        "return ([np.zeros((self.sizes[0], 1))] + nabla_b, [np.zeros((1, 1))] + nabla_w)",
    ),
    "nan": _edit(
        "return (nabla_b, nabla_w)", "nabla_w[0] = nabla_w[0] * np.nan\nreturn (nabla_b, nabla_w)"
    ),
    "returns_none": _edit("return (nabla_b, nabla_w)", "pass"),
    "one_array": _edit(
        "return (nabla_b, nabla_w)",
        "return (np.concatenate([b.ravel() for b in nabla_b]), nabla_w)",
    ),
    "raises": _edit(
        "nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())",
        "nabla_w[-l] = np.dot(delta, activations[-l - 1])",
    ),
    "sign_and_no_sp_hidden": _edit(
        _OUT_DELTA,
        "delta = (y - activations[-1]) * sigmoid_prime(zs[-1])",
        _edit(_HID_DELTA, "delta = np.dot(self.weights[-l + 1].transpose(), delta)"),
    ),
    # an error nobody catalogued: the hidden layers' bias gradients are off
    "unknown_hidden": _edit(
        "nabla_b[-l] = delta", "nabla_b[-l] = delta + 0.01 * np.arange(len(delta)).reshape(-1, 1)"
    ),
}

# --------------------------------------------------------------------------------------------
# Delegation to nnscratch's own implementations
# --------------------------------------------------------------------------------------------

DELEGATING = {
    # the library's Network (rows = samples, W transposed), converted back
    "library_network": """
import nnscratch
ref = nnscratch.Network(self.sizes)
ref.set_weights([w.T for w in self.weights], [b.ravel() for b in self.biases])
nW, nb = ref.backprop(x.T, y.T)
return [v.reshape(-1, 1) for v in nb], [w.T for w in nW]
""",
    # the grader's reference, under another name (attribute wrapping would miss this)
    "grader_reference": """
from nnscratch.grading.nielsen import reference_backprop as helper
return helper(self.weights, self.biases, x, y)
""",
}

# --------------------------------------------------------------------------------------------
# Hostile code
# --------------------------------------------------------------------------------------------

HOSTILE = {
    "infinite_loop": "while True:\n    pass",
    "sleep_forever": "import time\ntime.sleep(10**6)",
    "os_exit": "import os\nos._exit(0)",
    "sys_exit": "import sys\nsys.exit()",
    "memory_bomb": "hog = []\nwhile True:\n    hog.append(np.ones(10**7))",
    "segfault": "import ctypes\nctypes.string_at(0)",
    "spawn_and_loop": (
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
        "while True:\n    pass"
    ),
    "flood_stdout": "for i in range(20000):\n    print('spam', i)\nwhile True:\n    pass",
    "kill_self": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
    "raise_systemexit": "raise SystemExit(3)",
}

#: correct answers that also print (the prints land in the child, captured)
NOISY = {
    "stderr": _edit(
        "return (nabla_b, nabla_w)",
        "import sys\nprint('debug', delta.shape, file=sys.stderr)\n"
        "sys.stderr.write('more on stderr\\n')\nreturn (nabla_b, nabla_w)",
    ),
    "stdout": _edit(
        "return (nabla_b, nabla_w)", "print('delta', delta.ravel()[:3])\nreturn (nabla_b, nabla_w)"
    ),
    "warning": _edit(
        "return (nabla_b, nabla_w)",
        "import warnings\nwarnings.warn('student warning')\nreturn (nabla_b, nabla_w)",
    ),
}

_counter = 0


def make_network(body: str, name: str = "submission", extra: str = "") -> type:
    """Execute the scaffold with ``body`` as backprop's body (plus ``extra`` module code) in a
    fresh module and return its ``Network`` class."""
    global _counter
    _counter += 1
    source = SCAFFOLD.replace("{body}", textwrap.indent(textwrap.dedent(body).strip("\n"), " " * 8))
    source += "\n" + textwrap.dedent(extra)
    filename = f"<submission {name} {_counter}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(f"submission_{_counter}")
    exec(compile(source, filename, "exec"), module.__dict__)
    return module.Network
