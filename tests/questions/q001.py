"""Question 001: XOR with a 3Blue1Brown-style network of layer objects, online updates.

Its mistakes, both in the carry of the error to the hidden layer: the sum runs over the output
weights ``weights[_j, k]``, indexed by the *input* ``k`` of the hidden weight being updated
instead of by the hidden unit ``j`` (and accumulated over ``k``), and the output layer's
weights were already updated earlier in the same step.
"""

import numpy as np


class InputLayer:
    def __init__(self, dimensions):
        self.dimensions = dimensions
        self.a = np.zeros((dimensions, 1))

    def feedforward(self, x):
        self.a = x


class HiddenLayer:
    def __init__(self, dimensions, dim_from):
        self.dimensions = dimensions
        self.a = np.zeros((dimensions, 1))
        self.b = np.random.rand(dimensions, 1)
        self.grad = np.zeros((dimensions, 1))
        self.weights = np.random.rand(dimensions, dim_from)

    def feedforward(self, input_weights, input_a):
        for i in range(self.dimensions):
            self.a[i] = 1 / (1 + np.exp(-1 * (np.matmul(input_weights[i], input_a) + self.b[i])))


class NeuralNetwork:
    def __init__(self, input_dimensions):
        self.n_layers = 1
        self.layers = np.array([InputLayer(input_dimensions)])

    def add_layer(self, dimensions):
        self.layers = np.append(self.layers, HiddenLayer(dimensions,
                                                         self.layers[self.n_layers - 1].dimensions))
        self.n_layers += 1

    @staticmethod
    def sigmoid_derived(x):
        return np.multiply(x, 1.0 - x)

    def train(self, X, t, n_epoch, learning_rate=1.0):
        def update_weight(l, j, k):
            self.layers[l].weights[j, k] -= (  # fix: .item() for NumPy 2
                learning_rate * self.layers[l - 1].a[k]
                * NeuralNetwork.sigmoid_derived(self.layers[l].a[j]) * self.layers[l].grad[j]
            ).item()

        def update_bias(l, j):
            self.layers[l].b[j] -= (learning_rate
                                    * NeuralNetwork.sigmoid_derived(self.layers[l].a[j])
                                    * self.layers[l].grad[j]).item()

        for _ in range(n_epoch):
            for x, _t in zip(X, t):
                self.layers[0].feedforward(x)  # fix: the post lost these two lines
                self._forwardprop(x)
                for l in reversed(range(1, self.n_layers)):
                    for j in range(self.layers[l].dimensions):
                        self.layers[l].grad[j] = 0
                        for k in range(self.layers[l - 1].dimensions):
                            if l == self.n_layers - 1:
                                self.layers[l].grad[j] = 1 / len(t[0]) * 2 * (
                                    self.layers[l].a[j] - _t[j])
                            else:  # fix: the post lost this `else:`
                                for _j in range(self.layers[l + 1].dimensions):
                                    self.layers[l].grad[j] += (
                                        self.layers[l + 1].weights[_j, k]
                                        * NeuralNetwork.sigmoid_derived(self.layers[l + 1].a[_j])
                                        * self.layers[l + 1].grad[_j])
                            update_weight(l, j, k)
                        update_bias(l, j)

    def _forwardprop(self, x):
        for l in range(1, self.n_layers):
            self.layers[l].feedforward(self.layers[l].weights, self.layers[l - 1].a)

    def predict(self, x):
        self.layers[0].feedforward(x)  # fix: the post lost these two lines
        self._forwardprop(x)
        return self.layers[self.n_layers - 1].a


np.random.seed(1)
nn = NeuralNetwork(2)
nn.add_layer(2)
nn.add_layer(1)

# -- the wrapper: one sample, one epoch ----------------------------------------------------------
X, t = np.array([[1.0, 0.0]]), np.array([[1.0]])
LEARNING_RATE = 1.0
params = {"W1": nn.layers[1].weights, "b1": nn.layers[1].b,
          "W2": nn.layers[2].weights, "b2": nn.layers[2].b}


def _write(p):
    for l, (W, b) in enumerate(((p["W1"], p["b1"]), (p["W2"], p["b2"])), start=1):
        nn.layers[l].weights = np.array(W, dtype=float)
        nn.layers[l].b = np.array(b, dtype=float)


def loss(p):
    _write(p)
    a = nn.predict(X[0])
    return float(np.sum((a.reshape(-1) - t[0]) ** 2))


def step(p):
    _write(p)
    nn.train(X, t, 1, LEARNING_RATE)
    for l, (Wn, bn) in enumerate((("W1", "b1"), ("W2", "b2")), start=1):
        p[Wn], p[bn] = nn.layers[l].weights.copy(), nn.layers[l].b.copy()


MISTAKES = {"W1": "not-carried-back", "b1": "not-carried-back"}
