"""Reference for test/david/geo-fractal-david.test.ts: GeoFractalDavid's logits (spec §11.1) in numpy float64,
from weights the test writes (david-weights.json, produced by the TS model at a fixed seed and then perturbed so the
class centroids are not zero). Run: python3 gen_david_fixture.py  (numpy only) -> david-fixture.json"""
import json, math
import numpy as np

w = json.load(open('david-weights.json'))
cfg = w['config']
y = np.array(w['features'], dtype=np.float64)
y = y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)
P = {k: np.array(v, dtype=np.float64) for k, v in w['params'].items()}

def gelu(x):
    from math import erf
    return 0.5 * x * (1 + np.vectorize(erf)(x / math.sqrt(2)))

def lin(x, name):  # PyTorch layout: weight [out, in]
    return x @ P[name + '.weight'].T + P[name + '.bias']

def ln(x, name, eps=1e-5):
    m = x.mean(-1, keepdims=True); v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * P[name + '.weight'] + P[name + '.bias']

def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True)); return e / e.sum(axis=axis, keepdims=True)

centers = np.array([0.5, 1.5, 2.5]); tau = cfg['tau']; alpha = float(P['cantor_stairs.alpha'])
pos = lin(y, 'cantor_stairs.feature_to_position')[:, 0]
x = np.clip(1 / (1 + np.exp(-pos)), 1e-6, 1 - 1e-6)
C = np.zeros(len(y)); wgt = 0.5
for _ in range(cfg['levels']):
    u = 3 * x
    q = softmax(-(u[:, None] - centers[None, :]) ** 2 / (tau + 1e-8))
    C += wgt * (q[:, 2] + alpha * q[:, 1]); x = u - np.floor(u); wgt /= 2
kappa = np.clip(C, 0, 1)

scale_logits = []
for i, s in enumerate(cfg['scales']):
    h = f'heads.{i}.'
    p = lin(ln(gelu(lin(y, h + 'projection.0')), h + 'projection.2'), h + 'projection.3')
    q = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
    protos = P[h + 'class_prototypes']  # [C, k+1, s]
    cen = protos.mean(1); cen = cen / np.maximum(np.linalg.norm(cen, axis=1, keepdims=True), 1e-12)
    feature = q @ cen.T
    cant = -(kappa[:, None] - P[h + 'cantor_prototypes'][None, :]) ** 2
    d2 = ((q[:, None, None, :] - protos[None]) ** 2).sum(-1)  # [B, C, k+1], the direct form
    crystal = -np.sqrt(d2.min(-1) + 1e-8)
    gw = softmax(P[h + 'geo_weights'])
    scale_logits.append(gw[0] * feature + gw[1] * cant + gw[2] * crystal)
fw = softmax(P['fusion_weights'])
fused = sum(fw[i] * l for i, l in enumerate(scale_logits))
json.dump({'cantor': kappa.tolist(), 'logits': fused.tolist(), 'scaleLogits': [l.tolist() for l in scale_logits]}, open('david-fixture.json', 'w'))
print('ok', fused.shape)
