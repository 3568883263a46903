"""More learners' code, written as it appears in questions on Q&A sites: the iamtrask network
without biases, Andrew Ng's Theta matrices with a folded bias and an L2 penalty, Keras-like
names, deeper nets, Nielsen's per-sample column vectors. Each has one mistake and the code the
check must give it, with the data passed and without (found where the loss reads it)."""

import numpy as np

rng = np.random.default_rng(11)


def sig(z):
    return 1 / (1 + np.exp(-z))


CASES = []


def case(name, expected):
    def deco(fn):
        CASES.append((name, fn, expected))
        return fn
    return deco


@case("iamtrask deriv forgotten", {"syn0": "derivative-missing", "syn1": "derivative-missing"})
def c1():
    X = np.array([[0,0,1],[0,1,1],[1,0,1],[1,1,1]], float); y = np.array([[0,1,1,0]], float).T
    def nonlin(x, deriv=False):
        if deriv: return x*(1-x)
        return 1/(1+np.exp(-x))
    p = {"syn0": 2*rng.random((3,4))-1, "syn1": 2*rng.random((4,1))-1}
    def loss(p):
        l2 = nonlin(nonlin(X @ p["syn0"]) @ p["syn1"]); return 0.5*np.sum((y-l2)**2)
    def grad(p):
        l1 = nonlin(X.dot(p["syn0"])); l2 = nonlin(l1.dot(p["syn1"]))
        l2_error = y - l2
        l2_delta = l2_error * nonlin(l2)          # bug: deriv=True forgotten
        l1_error = l2_delta.dot(p["syn1"].T)
        l1_delta = l1_error * nonlin(l1, deriv=True)
        return {"syn0": -X.T.dot(l1_delta), "syn1": -l1.T.dot(l2_delta)}
    return loss, grad, p, X, y

@case("Ng theta with reg, sigmoidGradient of activation", {"Theta1": "derivative-at-wrong-value"})
def c2():
    m, n, h = 10, 3, 4
    X = rng.normal(size=(m, n)); y = (rng.random(m) > 0.5).astype(float)
    lam = 0.3
    p = {"Theta1": rng.normal(size=(h, n+1))*0.5, "Theta2": rng.normal(size=(1, h+1))*0.5}
    def sigmoidGradient(z): return sig(z)*(1-sig(z))
    def fwd(p):
        a1 = np.hstack([np.ones((m,1)), X]); z2 = a1 @ p["Theta1"].T; a2 = np.hstack([np.ones((m,1)), sig(z2)])
        z3 = a2 @ p["Theta2"].T; a3 = sig(z3); return a1, z2, a2, z3, a3
    def loss(p):
        *_, a3 = fwd(p); h3 = a3[:,0]
        J = -np.mean(y*np.log(h3) + (1-y)*np.log(1-h3))
        return J + lam/(2*m)*(np.sum(p["Theta1"][:,1:]**2) + np.sum(p["Theta2"][:,1:]**2))
    def grad(p):
        a1, z2, a2, z3, a3 = fwd(p)
        d3 = a3 - y[:,None]
        d2 = (d3 @ p["Theta2"])[:,1:] * sigmoidGradient(sig(z2))   # bug: at the activation
        T1 = d2.T @ a1 / m; T2 = d3.T @ a2 / m
        T1[:,1:] += lam/m*p["Theta1"][:,1:]; T2[:,1:] += lam/m*p["Theta2"][:,1:]
        return {"Theta1": T1, "Theta2": T2}
    return loss, grad, p, X, y

@case("relu regression, relu' on linear output", {"W1": "derivative-extra", "b1": "derivative-extra", "W2": "derivative-extra", "b2": "derivative-extra"})
def c3():
    X = rng.normal(size=(16,3)); y = X @ np.array([[1.],[-2.],[0.5]]) + 0.3
    p = {"W1": rng.normal(size=(3,5))*0.5, "b1": np.zeros(5)+0.1, "W2": rng.normal(size=(5,1))*0.5, "b2": np.zeros(1)}
    def loss(p):
        return np.mean((np.maximum(X@p["W1"]+p["b1"],0)@p["W2"]+p["b2"]-y)**2)
    def grad(p):
        Z1 = X@p["W1"]+p["b1"]; A1 = np.maximum(Z1,0); Z2 = A1@p["W2"]+p["b2"]
        dZ2 = 2*(Z2-y)/len(X) * (Z2 > 0)        # bug: relu' on the linear output
        dA1 = dZ2@p["W2"].T; dZ1 = dA1*(Z1>0)
        return {"W1": X.T@dZ1, "b1": dZ1.sum(0), "W2": A1.T@dZ2, "b2": dZ2.sum(0)}
    return loss, grad, p, X, y

@case("named W_hidden tanh sign in hidden W", {"W_hidden": "sign"})
def c4():
    X = rng.normal(size=(8,2)); y = (X[:,0]*X[:,1] > 0).astype(float)[:,None]
    p = {"W_hidden": rng.normal(size=(2,3)), "b_hidden": rng.normal(size=3), "W_out": rng.normal(size=(3,1)), "b_out": rng.normal(size=1)}
    def loss(p):
        return np.mean((sig(np.tanh(X@p["W_hidden"]+p["b_hidden"])@p["W_out"]+p["b_out"])-y)**2)
    def grad(p):
        H = np.tanh(X@p["W_hidden"]+p["b_hidden"]); O = sig(H@p["W_out"]+p["b_out"])
        dO = 2*(O-y)/len(X)*O*(1-O); dH = dO@p["W_out"].T*(1-H**2)
        return {"W_hidden": -(X.T@dH), "b_hidden": dH.sum(0), "W_out": H.T@dO, "b_out": dO.sum(0)}
    return loss, grad, p, X, y

@case("chain per-sample half sse, z(1-z) at output", {"w1": "derivative-at-wrong-value", "b1": "derivative-at-wrong-value", "w2": "derivative-at-wrong-value", "b2": "derivative-at-wrong-value"})
def c5():
    x, t = 0.7, 0.0
    p = {"w1": 0.4, "b1": -0.1, "w2": 0.9, "b2": 0.2}
    def loss(p):
        h = sig(p["w1"]*x+p["b1"]); o = sig(p["w2"]*h+p["b2"]); return 0.5*(o-t)**2
    def grad(p):
        z1 = p["w1"]*x+p["b1"]; h = sig(z1); z2 = p["w2"]*h+p["b2"]; o = sig(z2)
        d2 = (o-t)*z2*(1-z2)    # bug: a(1-a) fed z
        d1 = d2*p["w2"]*h*(1-h)
        return {"w1": d1*x, "b1": d1, "w2": d2*h, "b2": d2}
    return loss, grad, p, np.array([x]), np.array([t])

@case("softmax regression sum vs mean", {"W": "scale", "b": "scale"})
def c6():
    X = rng.normal(size=(12,4)); lab = rng.integers(0,3,12)
    p = {"W": rng.normal(size=(4,3)), "b": np.zeros(3)}
    def sm(Z):
        E = np.exp(Z-Z.max(1,keepdims=True)); return E/E.sum(1,keepdims=True)
    def loss(p):
        P = sm(X@p["W"]+p["b"]); return -np.mean(np.log(P[np.arange(12), lab]))
    def grad(p):
        P = sm(X@p["W"]+p["b"]); P[np.arange(12), lab] -= 1
        return {"W": X.T@P, "b": P.sum(0)}   # bug: no /n
    return loss, grad, p, X, lab

@case("bias column in X, stale weights", {"W1": "stale-weights"})
def c7():
    X = np.array([[0,0,1],[0,1,1],[1,0,1],[1,1,1]], float); y = np.array([[0],[1],[1],[0]], float)
    p = {"W1": rng.normal(size=(3,3)), "W2": rng.normal(size=(3,1))}
    def loss(p): return np.sum((sig(sig(X@p["W1"])@p["W2"])-y)**2)
    def grad(p):
        A1 = sig(X@p["W1"]); A2 = sig(A1@p["W2"])
        D2 = 2*(A2-y)*A2*(1-A2); dW2 = A1.T@D2
        p["W2"] -= 0.1*dW2      # bug: updated before carrying back
        D1 = D2@p["W2"].T*A1*(1-A1)
        return {"W1": X.T@D1, "W2": dW2}
    return loss, grad, p, X, y

@case("list with row-vector biases, activation twice", {2: "activation-applied-twice"})
def c8():
    X = rng.normal(size=(6,2)); y = (X.sum(1) > 0).astype(float)[:,None]
    p = [rng.normal(size=(2,3)), rng.normal(size=(1,3)), rng.normal(size=(3,1)), rng.normal(size=(1,1))]
    def loss(p):
        return float(np.mean((sig(sig(X@p[0]+p[1])@p[2]+p[3])-y)**2))
    def grad(p):
        A1 = sig(X@p[0]+p[1]); A2 = sig(A1@p[2]+p[3]); D2 = 2*(A2-y)/len(X)*A2*(1-A2)
        D1 = D2@p[2].T*A1*(1-A1)
        return [X.T@D1, D1.sum(0, keepdims=True), sig(A1).T@D2, D2.sum(0, keepdims=True)]
    return loss, grad, p, X, y

@case("missing transpose square hidden (oi weights, col vectors)", {"W1": "not-carried-back", "b1": "not-carried-back"})
def c9():
    X = rng.normal(size=(3, 10)); Y = rng.random((3, 10))
    p = {"W1": rng.normal(size=(3,3)), "b1": rng.normal(size=(3,1)), "W2": rng.normal(size=(3,3)), "b2": rng.normal(size=(3,1))}
    def loss(p):
        return 0.5*np.sum((sig(p["W2"]@sig(p["W1"]@X+p["b1"])+p["b2"])-Y)**2)
    def grad(p):
        A1 = sig(p["W1"]@X+p["b1"]); A2 = sig(p["W2"]@A1+p["b2"])
        D2 = (A2-Y)*A2*(1-A2); D1 = (p["W2"]@D2)*A1*(1-A1)   # bug: W2 instead of W2.T
        return {"W1": D1@X.T, "b1": D1.sum(1, keepdims=True), "W2": D2@A1.T, "b2": D2.sum(1, keepdims=True)}
    return loss, grad, p, X, Y

@case("deep relu 2-4-4-1, tanh' on a relu layer", {"W1": "derivative-at-wrong-value", "b1": "derivative-at-wrong-value"})
def c10():
    X = rng.normal(size=(20,2)); y = np.sin(X[:,:1]) + X[:,1:]
    p = {"W1": rng.normal(size=(2,4)), "b1": rng.normal(size=4)*0.1, "W2": rng.normal(size=(4,4))*0.5, "b2": rng.normal(size=4)*0.1, "W3": rng.normal(size=(4,1)), "b3": np.zeros(1)}
    def fwd(p):
        Z1 = X@p["W1"]+p["b1"]; A1 = np.maximum(Z1,0); Z2 = A1@p["W2"]+p["b2"]; A2 = np.tanh(Z2); Z3 = A2@p["W3"]+p["b3"]
        return Z1, A1, Z2, A2, Z3
    def loss(p): return np.mean((fwd(p)[-1]-y)**2)
    def grad(p):
        Z1, A1, Z2, A2, Z3 = fwd(p)
        d3 = 2*(Z3-y)/len(X); d2 = d3@p["W3"].T*(1-A2**2)
        d1 = d2@p["W2"].T*(1-A1**2)   # bug: tanh's derivative on the relu layer
        return {"W1": X.T@d1, "b1": d1.sum(0), "W2": A1.T@d2, "b2": d2.sum(0), "W3": A2.T@d3, "b3": d3.sum(0)}
    return loss, grad, p, X, y

@case("keras names kernel/bias, leaky 0.2", {"kernel_1": "sign", "bias_1": "sign", "kernel_0": "sign", "bias_0": "sign"})
def c11():
    X = rng.normal(size=(15,3)); y = (X[:,0] > 0).astype(float)[:,None]
    p = {"kernel_0": rng.normal(size=(3,5)), "bias_0": np.zeros(5), "kernel_1": rng.normal(size=(5,1)), "bias_1": np.zeros(1)}
    lk = lambda z: np.where(z > 0, z, 0.2*z)
    def loss(p):
        a = sig(lk(X@p["kernel_0"]+p["bias_0"])@p["kernel_1"]+p["bias_1"])
        return -np.mean(y*np.log(a)+(1-y)*np.log(1-a))
    def grad(p):
        Z1 = X@p["kernel_0"]+p["bias_0"]; A1 = lk(Z1); A2 = sig(A1@p["kernel_1"]+p["bias_1"])
        d2 = (y - A2)/len(X)     # bug: sign
        d1 = d2@p["kernel_1"].T*np.where(Z1>0,1,0.2)
        return {"kernel_0": X.T@d1, "bias_0": d1.sum(0), "kernel_1": A1.T@d2, "bias_1": d2.sum(0)}
    return loss, grad, p, X, y

@case("Nielsen per-sample column vectors, z instead of a in dW", {"w[1]": "wrong-input"})
def c12():
    x = rng.normal(size=(3,1)); t = np.array([[1.0],[0.0]])
    p = {"w": [rng.normal(size=(4,3)), rng.normal(size=(2,4))], "b": [rng.normal(size=(4,1)), rng.normal(size=(2,1))]}
    def loss(p):
        a = x
        for W, b in zip(p["w"], p["b"]): a = sig(W@a+b)
        return 0.5*np.sum((a-t)**2)
    def grad(p):
        zs, acts = [], [x]; a = x
        for W, b in zip(p["w"], p["b"]):
            z = W@a+b; zs.append(z); a = sig(z); acts.append(a)
        d = (a - t)*sig(zs[-1])*(1-sig(zs[-1]))
        gw1 = d@zs[-2].T      # bug: z where a belongs
        gb1 = d
        d0 = (p["w"][1].T@d)*sig(zs[0])*(1-sig(zs[0]))
        return {"w": [d0@x.T, gw1], "b": [d0, gb1]}
    return loss, grad, p, x.ravel(), t.ravel()

@case("L2 in the loss, not in the gradient", {"W1": "forward-pass", "W2": "forward-pass"})
def c13():
    X = rng.normal(size=(10,3)); y = rng.normal(size=(10,1))
    p = {"W1": rng.normal(size=(3,4)), "b1": np.zeros(4), "W2": rng.normal(size=(4,1)), "b2": np.zeros(1)}
    lam = 0.05
    def loss(p):
        return np.mean((np.tanh(X@p["W1"]+p["b1"])@p["W2"]+p["b2"]-y)**2) + lam*(np.sum(p["W1"]**2)+np.sum(p["W2"]**2))
    def grad(p):
        A1 = np.tanh(X@p["W1"]+p["b1"]); d2 = 2*(A1@p["W2"]+p["b2"]-y)/len(X); d1 = d2@p["W2"].T*(1-A1**2)
        return {"W1": X.T@d1, "b1": d1.sum(0), "W2": A1.T@d2, "b2": d2.sum(0)}   # bug: no 2*lam*W
    return loss, grad, p, X, y

@case("square W, transposed dW (oi, columns)", {"W2": "wrong-input"})
def c14():
    X = rng.normal(size=(3, 12)); Y = rng.random((3, 12))
    p = {"W1": rng.normal(size=(3,3)), "b1": rng.normal(size=(3,1)), "W2": rng.normal(size=(3,3)), "b2": rng.normal(size=(3,1))}
    def loss(p):
        return 0.5*np.sum((sig(p["W2"]@sig(p["W1"]@X+p["b1"])+p["b2"])-Y)**2)
    def grad(p):
        A1 = sig(p["W1"]@X+p["b1"]); A2 = sig(p["W2"]@A1+p["b2"])
        D2 = (A2-Y)*A2*(1-A2); D1 = (p["W2"].T@D2)*A1*(1-A1)
        return {"W1": D1@X.T, "b1": D1.sum(1, keepdims=True), "W2": A1@D2.T, "b2": D2.sum(1, keepdims=True)}   # bug: A1 @ D2.T
    return loss, grad, p, X, Y


@case("Ng unrolled nn_params with reg (Fortran order), sign", {"nn_params": "sign"})
def c15():
    m, n, h = 12, 3, 4
    X = rng.normal(size=(m, n)); y = (rng.random(m) > 0.5).astype(float)
    lam = 0.2
    T1 = rng.normal(size=(h, n+1))*0.5; T2 = rng.normal(size=(1, h+1))*0.5
    nn = np.concatenate([T1.ravel(order="F"), T2.ravel(order="F")])
    def unroll(v):
        return v[:h*(n+1)].reshape((h, n+1), order="F"), v[h*(n+1):].reshape((1, h+1), order="F")
    def fwd(T1, T2):
        a1 = np.hstack([np.ones((m,1)), X]); z2 = a1 @ T1.T; a2 = np.hstack([np.ones((m,1)), sig(z2)])
        return a1, z2, a2, sig(a2 @ T2.T)
    def loss(p):
        T1, T2 = unroll(p["nn_params"]); *_, a3 = fwd(T1, T2); h3 = a3[:,0]
        return -np.mean(y*np.log(h3)+(1-y)*np.log(1-h3)) + lam/(2*m)*(np.sum(T1[:,1:]**2)+np.sum(T2[:,1:]**2))
    def grad(p):
        T1, T2 = unroll(p["nn_params"]); a1, z2, a2, a3 = fwd(T1, T2)
        d3 = a3 - y[:,None]; d2 = (d3 @ T2)[:,1:]*sig(z2)*(1-sig(z2))
        G1 = d2.T @ a1 / m; G2 = d3.T @ a2 / m
        G1[:,1:] += lam/m*T1[:,1:]; G2[:,1:] += lam/m*T2[:,1:]
        return {"nn_params": -np.concatenate([G1.ravel(order="F"), G2.ravel(order="F")])}
    return loss, grad, {"nn_params": nn}, X, y

@case("flat list of 9 floats, neuron by neuron, activation twice", {6: "activation-applied-twice", 7: "activation-applied-twice"})
def c16():
    X = np.array([[0,0],[0,1],[1,0],[1,1]], float); y = np.array([0,1,1,0], float)
    p = list(rng.normal(size=9))
    def unpack(p):
        return (np.array([[p[0], p[3]], [p[1], p[4]]]), np.array([p[2], p[5]]), np.array([p[6], p[7]]), p[8])
    def loss(p):
        W1, b1, w2, b2 = unpack(p); return float(np.sum((sig(sig(X@W1+b1)@w2+b2)-y)**2))
    def grad(p):
        W1, b1, w2, b2 = unpack(p); H = sig(X@W1+b1); o = sig(H@w2+b2)
        d = 2*(o-y)*o*(1-o); dh = np.outer(d, w2)*H*(1-H)
        gW1 = X.T@dh; gb1 = dh.sum(0); gw2 = sig(H).T@d   # bug: sig applied again
        return [gW1[0,0], gW1[1,0], gb1[0], gW1[0,1], gW1[1,1], gb1[1], gw2[0], gw2[1], d.sum()]
    return loss, grad, p, X, y

@case("Ng course dict, grads keyed dW1, tanh' as 1 - Z1**2", {"W1": "derivative-at-wrong-value", "b1": "derivative-at-wrong-value"})
def c17():
    X = rng.normal(size=(2, 30)); Y = (X[0:1] * X[1:2] > 0).astype(float)   # samples as columns
    m = X.shape[1]
    p = {"W1": rng.normal(size=(4, 2)) * 0.5, "b1": np.zeros((4, 1)), "W2": rng.normal(size=(1, 4)) * 0.5, "b2": np.zeros((1, 1))}
    def forward(p):
        Z1 = p["W1"] @ X + p["b1"]; A1 = np.tanh(Z1); A2 = sig(p["W2"] @ A1 + p["b2"]); return Z1, A1, A2
    def loss(p):
        *_, A2 = forward(p); return float(-np.sum(Y*np.log(A2) + (1-Y)*np.log(1-A2)) / m)
    def grad(p):
        Z1, A1, A2 = forward(p)
        dZ2 = A2 - Y; dW2 = dZ2 @ A1.T / m; db2 = np.sum(dZ2, axis=1, keepdims=True) / m
        dZ1 = (p["W2"].T @ dZ2) * (1 - np.power(Z1, 2))     # bug: 1 - A1**2 belongs
        dW1 = dZ1 @ X.T / m; db1 = np.sum(dZ1, axis=1, keepdims=True) / m
        return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
    return loss, grad, p, X.T, Y.T

@case("(out, in) weights W_ih/W_ho, error carried back without the transpose", {"W_ih": "not-carried-back", "b_h": "not-carried-back"})
def c18():
    X = rng.normal(size=(8, 3)); T = rng.random((8, 3))
    p = {"W_ih": rng.normal(size=(3, 3)) * 0.7, "b_h": np.zeros(3), "W_ho": rng.normal(size=(3, 3)) * 0.7, "b_o": np.zeros(3)}
    def loss(p):
        H = sig(X @ p["W_ih"].T + p["b_h"]); O = sig(H @ p["W_ho"].T + p["b_o"]); return 0.5 * np.sum((O - T) ** 2)
    def grad(p):
        H = sig(X @ p["W_ih"].T + p["b_h"]); O = sig(H @ p["W_ho"].T + p["b_o"])
        d_o = (O - T) * O * (1 - O)
        d_h = (d_o @ p["W_ho"].T) * H * (1 - H)     # bug: d_o @ W_ho, as the forward pass is H @ W_ho.T
        return {"W_ih": d_h.T @ X, "b_h": d_h.sum(0), "W_ho": d_o.T @ H, "b_o": d_o.sum(0)}
    return loss, grad, p, X, T

