"""Question 004: even/odd with a 1-1-1 chain of scalars, online updates.

Its mistakes: ``delta_w2 = gradient_y * der_sigmoid(yHat) * w2`` and ``delta_w1 = gradient_h *
der_sigmoid(h) * w1``: the weight itself where the input (``h``, ``x``) belongs.
"""

import math
import random

LEARNING_RATE = 0.1


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def der_sigmoid(x):
    return x * (1 - x)


def cost(x):
    return x * x


def der_cost(x):
    return 2 * x


random.seed(4)
w1 = 2 * random.random() - 1
w2 = 2 * random.random() - 1
b1 = 0
b2 = 0


def feedforward(x, w1, w2, b1, b2):
    h = sigmoid((x * w1) + b1)
    y = sigmoid((h * w2) + b2)
    return h, y


def backprop(q_set, a_set, w1, w2, b1, b2, choice=None):
    rand_choice = random.randint(0, len(q_set) - 1) if choice is None else choice  # fix: choice
    curr_q = q_set[rand_choice]
    curr_a = a_set[rand_choice]
    h, yHat = feedforward(curr_q, w1, w2, b1, b2)
    E = yHat - curr_a
    gradient_y = der_cost(E)
    gradient_h = gradient_y * der_sigmoid(yHat) * w2  # fix: the post never defines gradient_h
    delta_w2 = gradient_y * der_sigmoid(yHat) * w2 * LEARNING_RATE
    delta_w1 = gradient_h * der_sigmoid(h) * w1 * LEARNING_RATE
    delta_b2 = gradient_y * der_sigmoid(yHat) * LEARNING_RATE
    delta_b1 = gradient_h * der_sigmoid(h) * LEARNING_RATE
    return delta_b1, delta_b2, delta_w1, delta_w2


set_q = [1, 2, 3, 4, 5, 6, 7, 8, 9]
set_a = [0, 1, 0, 1, 0, 1, 0, 1, 0]
set_q = [q / max(set_q) for q in set_q]  # fix: the loop divided by a max that kept changing

# -- the wrapper: one sample, the update step as the training loop applies it -------------------
SAMPLE = 3
params = {"w1": w1, "w2": w2, "b1": b1, "b2": b2}
X, y = [set_q[SAMPLE]], [set_a[SAMPLE]]


def loss(p):
    _, y_hat = feedforward(set_q[SAMPLE], p["w1"], p["w2"], p["b1"], p["b2"])
    return cost(y_hat - set_a[SAMPLE])


def step(p):
    delta_b1, delta_b2, delta_w1, delta_w2 = backprop(set_q, set_a, p["w1"], p["w2"], p["b1"],
                                                      p["b2"], SAMPLE)
    p["w1"] -= delta_w1
    p["w2"] -= delta_w2
    p["b1"] -= delta_b1
    p["b2"] -= delta_b2


MISTAKES = {"w1": "wrong-input", "w2": "wrong-input"}
