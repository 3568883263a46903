"""A learner's XOR net in nine Python floats (``w7 .. w9`` are the biases), trained one sample
at a time; the sample is three numbered globals, as in many Q&A questions. The hidden deltas
take the sigmoid's derivative written for the activation, ``x * (1 - x)``, of the net input."""

import math

X1, X2, T = 1.0, 0.5, 1.0
lr = 0.5
params = dict(w1=0.3, w2=-0.4, w3=0.6, w4=0.2, w5=-0.5, w6=0.7, w7=0.1, w8=-0.2, w9=0.05)


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def sigmoid_derivative(x):
    return x * (1 - x)


def loss(w1, w2, w3, w4, w5, w6, w7, w8, w9):
    h1 = sigmoid(w1 * X1 + w2 * X2 + w7)
    h2 = sigmoid(w3 * X1 + w4 * X2 + w8)
    return 0.5 * (sigmoid(w5 * h1 + w6 * h2 + w9) - T) ** 2


def step(w1, w2, w3, w4, w5, w6, w7, w8, w9):
    z_h1 = w1 * X1 + w2 * X2 + w7
    z_h2 = w3 * X1 + w4 * X2 + w8
    h1, h2 = sigmoid(z_h1), sigmoid(z_h2)
    out = sigmoid(w5 * h1 + w6 * h2 + w9)
    d_out = (out - T) * sigmoid_derivative(out)
    d_h1 = d_out * w5 * sigmoid_derivative(z_h1)  # the bug: of z_h1, not of h1
    d_h2 = d_out * w6 * sigmoid_derivative(z_h2)
    return (w1 - lr * d_h1 * X1, w2 - lr * d_h1 * X2, w3 - lr * d_h2 * X1, w4 - lr * d_h2 * X2,
            w5 - lr * d_out * h1, w6 - lr * d_out * h2, w7 - lr * d_h1, w8 - lr * d_h2,
            w9 - lr * d_out)
