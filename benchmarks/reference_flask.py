"""The seed's architecture, kept as the speed reference: Flask + gunicorn + sklearn
predict_proba, no authentication and no storage.

    REFERENCE_MODEL=path/to/forest.joblib gunicorn benchmarks.reference_flask:app
"""

import os

import joblib
import numpy as np
from flask import Flask, jsonify, request

FEATURES = ("heart_rate", "ecg", "emg", "gsr", "respiration")
CLASSES = ("low", "medium", "high")

app = Flask(__name__)
# The forest from our artifact: the same model, served the seed's way.
forest = joblib.load(os.environ["REFERENCE_MODEL"])  # nosec B301 - our own artifact


@app.post("/predict")
def predict():
    data = request.get_json(force=True)
    try:
        row = np.array([[float(data[name]) for name in FEATURES]])
    except (KeyError, TypeError, ValueError):
        return jsonify({"error": "invalid input"}), 400
    probabilities = forest.predict_proba(row)[0]
    best = int(probabilities.argmax())
    return jsonify(
        {
            "stress_level": CLASSES[best],
            "confidence": float(probabilities[best]),
            "probabilities": dict(zip(CLASSES, map(float, probabilities), strict=True)),
        }
    )
