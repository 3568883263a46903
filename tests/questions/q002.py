"""Question 002: a 3-input boolean function with Nielsen's 3-4-1 network, online updates.

Its backpropagation is right (``d = (a - t) sigma'(z)`` is the gradient of half the squared
error); the network does not learn for other reasons (too few updates: 1000 single samples).
"""

import numpy as np


def sigma(z):
    return 1 / (1 + np.exp(-z))


def sigmaprime(z):
    return sigma(z) * (1 - sigma(z))


class Network:
    def __init__(self, sizes) -> None:
        self.sizes = sizes
        self.l = len(sizes)
        self.w = [np.random.randn(x, y) for x, y in zip(sizes[1:], sizes[:-1])]
        self.b = [np.random.randn(y) for y in sizes[1:]]

    def feedforward(self, a):
        for i in range(0, self.l - 1):
            z = np.matmul(self.w[i], a) + self.b[i]
            a = sigma(z)
        return a

    def backprop(self, input, target):
        a = input
        zlist = []
        alist = [a]
        for i in range(0, self.l - 1):
            z = np.matmul(self.w[i], a) + self.b[i]
            zlist.append(z)
            a = sigma(z)
            alist.append(a)
        d = (a - target) * sigmaprime(zlist[-1])
        dlist = [d]
        for i in range(1, self.l - 1):
            d = np.matmul(self.w[-i].T, d) * sigmaprime(zlist[-i - 1])
            dlist.append(d)
        gradb = dlist[::-1]
        gradw = [np.outer(dlist[-i], alist[i - 1]) for i in range(1, self.l)]
        return gradw, gradb

    def train(self, input, target, lr):
        gradw, gradb = self.backprop(input, target)
        for i in range(0, self.l - 1):
            self.w[i] -= lr * gradw[i]
            self.b[i] -= lr * gradb[i]


np.random.seed(2)
net = Network([3, 4, 1])
X = np.array([[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1], [1, 0, 0], [1, 0, 1], [1, 1, 0],
              [1, 1, 1]])
y = np.array([1, 1, 1, 0, 1, 0, 1, 1])

# -- the wrapper: one sample, the network's own lists of arrays --------------------------------
SAMPLE = 3
params = [net.w, net.b]


def loss(p):
    net.w, net.b = p
    a = net.feedforward(X[SAMPLE])
    return 0.5 * float(np.sum((a - y[SAMPLE]) ** 2))


def grad(p):
    net.w, net.b = p
    return list(net.backprop(X[SAMPLE], y[SAMPLE]))


MISTAKES = {}
