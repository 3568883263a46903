"""Question 003: AND with a two-neuron chain ``w11, w12, b1 -> w2, b2``, full-batch updates.

Its mistake: ``neuron1`` and ``neuron2`` already return ``a(z)``, and the training applies
``a`` to their results again: the output is ``a(a(z2))``, the weight gradient of ``w2`` uses
``a(a1)`` and the hidden derivative ``a(a1)(1 - a(a1))``.
"""

import math


def training(x_data, labels, w11=0, w12=0, w2=0, b1=0, b2=0, alpha=0.1):
    w11_list, w12_list, b1_list, w2_list, b2_list, L_list = [], [], [], [], [], []
    for i in range(len(x_data)):
        z1 = neuron1(x_data[i][0], x_data[i][1], w11=w11, w12=w12, b1=b1)
        z2 = neuron2(z1, w2=w2, b2=b2)
        yhat = a(z2)
        e = labels[i] - yhat
        L_list.append(e**2)
        w_n2 = -2 * e * a(z1) * (yhat * (1 - yhat))
        w2_list.append(w_n2)
        b_n2 = -2 * e * (yhat * (1 - yhat))
        b2_list.append(b_n2)
        w1_n1 = -2 * e * x_data[i][0] * w2 * (yhat * (1 - yhat)) * (a(z1) * (1 - a(z1)))
        w11_list.append(w1_n1)
        w2_n1 = -2 * e * x_data[i][1] * w2 * (yhat * (1 - yhat)) * a(z1) * (1 - a(z1))
        w12_list.append(w2_n1)
        b_n1 = -2 * e * w2 * (yhat * (1 - yhat)) * (a(z1) * (1 - a(z1)))
        b1_list.append(b_n1)
    w11 = w11 - alpha * sum(w11_list) / len(w11_list)
    w12 = w12 - alpha * sum(w12_list) / len(w12_list)
    b1 = b1 - alpha * sum(b1_list) / len(b1_list)
    w2 = w2 - alpha * sum(w2_list) / len(w2_list)
    b2 = b2 - alpha * sum(b2_list) / len(b2_list)
    return w11, w12, w2, b1, b2


def neuron1(x1, x2, w11, w12, b1):
    z = w11 * x1 + w12 * x2 + b1
    y = a(z)
    return y


def neuron2(y, w2, b2):
    z = w2 * y + b2
    y = a(z)
    return y


def a(z):
    return 1 / (1 + math.e**-z)


# -- the wrapper ---------------------------------------------------------------------------------
x_data = [[0, 0], [0, 1], [1, 0], [1, 1]]
labels = [0, 0, 0, 1]
LEARNING_RATE = 0.1
params = {"w11": 0.0, "w12": 0.0, "w2": 0.0, "b1": 0.0, "b2": 0.0}  # the question's defaults


def loss(p):
    errors = [(labels[i] - a(neuron2(neuron1(*x, p["w11"], p["w12"], p["b1"]), p["w2"],
                                     p["b2"]))) ** 2 for i, x in enumerate(x_data)]
    return sum(errors) / len(errors)


def step(p):
    return training(x_data, labels, **p, alpha=LEARNING_RATE)


MISTAKES = dict.fromkeys(params, "activation-applied-twice")
