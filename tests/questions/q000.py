"""Question 000: XOR with a 2-2-1 sigmoid net of Neuron and Weight objects, online updates.

Its mistake: the loop over layers stops before layer 0, so the weights leaving the input
neurons (the first layer's weights) never get a wished change, and ``CorrectFromWished`` skips
layer 0 too: the first layer is never updated.
"""

import random

import numpy as np


def sigmoid(x):
    if x < -100:
        return 0
    if x > 100:
        return 1
    return 1 / (1 + np.exp(-x))


def derivative_sigmoid_z(z):
    return np.exp(-z) / ((1 + np.exp(-z)) ** 2)


class Weight:
    def __init__(self):
        self.weight = random.uniform(-1, 1)
        self.total_wished_changes = 0
        self.number_of_wished_changes = 0


class Neuron:
    def __init__(self, layer, number, num_output_weights=0):
        self.num_output_weights = num_output_weights
        self.layer = layer
        self.number = number
        self.z = 0
        self.value = 0
        self.output_weights = []
        for _ in range(self.num_output_weights):
            self.output_weights.append(Weight())
        self.bias_weight = 0
        self.total_wished_bias_changes = 0
        self.number_wished_bias_changes = 0
        self.delta = 0


class Net:
    def __init__(self, topology, learning_rate=0.5, bias=1):
        self.topology = topology
        self.num_layers = len(self.topology)
        self.bias = bias
        self.expected = None
        self.result = None
        self.error = 0
        self.topology.append(0)
        self.layers = []
        for layer in range(self.num_layers):  # fix: the post lost this loop's body
            self.layers.append([Neuron(layer, i, self.topology[layer + 1])
                                for i in range(self.topology[layer])])
        self.topology.pop()
        self.learning_rate = learning_rate

    def calculate_layer(self, layer):
        for neuron_idx in range(self.topology[layer]):
            neuron = self.layers[layer][neuron_idx]
            neuron.z = sum(
                [inputNeuron.value * inputNeuron.output_weights[neuron_idx].weight
                 for inputNeuron in self.layers[layer - 1]]) + self.bias * neuron.bias_weight
            neuron.value = sigmoid(neuron.z)

    def calculateResult(self, inputs):
        for i in range(len(inputs)):
            self.layers[0][i].value = inputs[i]
        for layer in range(1, self.num_layers):
            self.calculate_layer(layer)
        return [neuron.value for neuron in self.layers[-1]]

    def trainOnOneExample(self, inputs, expected_outputs):
        outputs_got = self.calculateResult(inputs)
        self.error = sum([(expected_outputs[i] - outputs_got[i]) ** 2
                          for i in range(len(expected_outputs))])
        for layer_idx in range(self.num_layers - 1, 0, -1):
            for neuron_idx in range(self.topology[layer_idx]):
                neuron = self.layers[layer_idx][neuron_idx]
                if layer_idx == self.num_layers - 1:
                    neuron_derVsCost = 2 * (neuron.value - expected_outputs[neuron_idx])
                    neuron.delta = neuron_derVsCost * derivative_sigmoid_z(neuron.z)
                else:
                    neuron_derVsCost = sum(
                        [neuron.output_weights[i].weight * self.layers[layer_idx + 1][i].delta
                         for i in range(self.topology[layer_idx + 1])])
                    neuron.delta = neuron_derVsCost * derivative_sigmoid_z(neuron.z)
                neuron.total_wished_bias_changes += neuron.delta
                neuron.number_wished_bias_changes += 1
                for weight in range(len(neuron.output_weights)):
                    this_weight = neuron.output_weights[weight]
                    this_weight.total_wished_changes += (
                        neuron.value * self.layers[layer_idx + 1][weight].delta)
                    this_weight.number_of_wished_changes += 1

    def CorrectFromWished(self):
        for layer_idx in range(self.num_layers):
            if layer_idx == 0:
                continue
            layer = self.layers[layer_idx]
            for neuron in layer:
                neuron.bias_weight -= (neuron.total_wished_bias_changes
                                       / neuron.number_wished_bias_changes) * self.learning_rate
                neuron.total_wished_bias_changes = 0
                neuron.number_wished_bias_changes = 0
                for weight in neuron.output_weights:
                    weight.weight -= (weight.total_wished_changes
                                      / weight.number_of_wished_changes) * self.learning_rate
                    weight.total_wished_changes = 0
                    weight.number_of_wished_changes = 0


# -- the wrapper: the net's weights as arrays, one training example -----------------------------
random.seed(0)
net = Net([2, 2, 1])
inputs, expected = [1, 0], [1]
LEARNING_RATE = net.learning_rate


def _write(p):
    for i, neuron in enumerate(net.layers[0]):
        for j, w in enumerate(neuron.output_weights):
            w.weight = p["W1"][i][j]
    for j, neuron in enumerate(net.layers[1]):
        neuron.bias_weight = p["b1"][j]
        for k, w in enumerate(neuron.output_weights):
            w.weight = p["W2"][j][k]
    net.layers[2][0].bias_weight = p["b2"][0]


def _read():
    return {"W1": np.array([[w.weight for w in n.output_weights] for n in net.layers[0]]),
            "b1": np.array([n.bias_weight for n in net.layers[1]]),
            "W2": np.array([[w.weight for w in n.output_weights] for n in net.layers[1]]),
            "b2": np.array([net.layers[2][0].bias_weight])}


params = _read()


def loss(p):
    _write(p)
    out = net.calculateResult(inputs)
    return sum((expected[i] - out[i]) ** 2 for i in range(len(expected)))


def step(p):
    _write(p)
    net.trainOnOneExample(inputs, expected)
    net.CorrectFromWished()
    return _read()


MISTAKES = {"W1": "not-computed"}
