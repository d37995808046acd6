"""seqae.scale.distributed's Spark pandas UDFs on a local Spark session (needs pyspark and Java)."""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pandas as pd
import pytest
from seqae.datasets import make_sensor_stream

from seqae import Detector

pytest.importorskip("pyspark", reason="needs pyspark: pip install 'seqae[spark]'")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip(
        "Spark needs a Java runtime (no java on PATH, no JAVA_HOME): "
        "apt-get install default-jre-headless",
        allow_module_level=True,
    )
from seqae import distributed as sd

pytestmark = [
    pytest.mark.slow,  # a JVM and Python workers start: tens of seconds
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers run this interpreter
    session = (
        SparkSession.builder.master("local[2]")
        .appName("seqae-test")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    s = make_sensor_stream(n_timesteps=1500, n_channels=3, anomalies=(), random_state=0)
    det = Detector(model="lstm", frame=16, step=3, epochs=1, random_state=0, merge_gap=2)
    det.model_params = {"hidden_size": 8, "latent_dim": 4}
    det.fit(pd.DataFrame(s.values, columns=["a", "b", "c"]))
    path = tmp_path_factory.mktemp("model") / "model.onnx"
    det.export_onnx(path)
    return path


def test_spark_fleet_equals_each_unit_alone(spark, onnx_model):
    frames = []
    for u in range(3):
        s = make_sensor_stream(n_timesteps=400, n_channels=3, n_anomalies=1, random_state=u)
        frame = pd.DataFrame(s.values.astype(np.float64), columns=["a", "b", "c"])
        frames.append(frame.assign(unit=f"u{u}", time=np.arange(400)))
    fleet = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=0)
    result = sd.spark_score_fleet(spark.createDataFrame(fleet), onnx_model, order_by="time")
    got = result.toPandas().sort_values(["unit", "position"])
    assert list(got.columns[:4]) == ["unit", "time", "position", "score"]  # the input's time
    for _, rows in got.groupby("unit"):
        assert rows["time"].tolist() == list(range(400))
    det = sd.load_model(onnx_model)
    for unit, rows in got.groupby("unit"):
        alone = det.score_samples(fleet[fleet.unit == unit].sort_values("time")[["a", "b", "c"]])
        np.testing.assert_allclose(rows["score"], alone, atol=1e-6)


def test_spark_long_series_with_overlap(spark, onnx_model):
    s = make_sensor_stream(n_timesteps=5000, n_channels=3, random_state=1)
    frame = pd.DataFrame(s.values.astype(np.float64), columns=["a", "b", "c"])
    frame["position"] = np.arange(len(frame))
    result = sd.spark_score_stream(spark.createDataFrame(frame), onnx_model, part_rows=1200)
    got = result.toPandas().sort_values("position")
    assert got["position"].tolist() == list(range(5000))  # each row once
    whole = sd.load_model(onnx_model).detect(frame[["a", "b", "c"]])
    np.testing.assert_allclose(got["score"], whole.scores, atol=1e-6)
    np.testing.assert_array_equal(got["label"], whole.labels)


def test_two_models_of_the_same_file_name_in_one_session(spark, onnx_model, tmp_path):
    # Spark keys shipped files by name: a second, different model.onnx must still be the one
    # that scores (each model goes out under a name made of its contents).
    s = make_sensor_stream(n_timesteps=1500, n_channels=3, anomalies=(), random_state=5)
    other = tmp_path / "model.onnx"
    det = Detector(frame=16, epochs=1, random_state=1, model_params={"filters": (4, 4, 2)})
    det.fit(pd.DataFrame(s.values, columns=["a", "b", "c"])).export_onnx(other)
    frame = pd.DataFrame(s.values[:400].astype(np.float64), columns=["a", "b", "c"])
    fleet = spark.createDataFrame(frame.assign(unit="u0", time=np.arange(400)))
    for path in (onnx_model, other, onnx_model):
        got = sd.spark_score_fleet(fleet, path, order_by="time").toPandas()
        expected = sd.load_model(path).score_samples(frame)
        np.testing.assert_allclose(got.sort_values("position")["score"], expected, atol=1e-6)
