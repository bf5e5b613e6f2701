"""One local Spark for every test of tests/spark/ (one worker runs them all: tests/conftest.py's
ONE_WORKER_FILES): local[2], driver on 127.0.0.1, UI off, speculation off. The executors get
the access token as the SDK's users give it, in their environment (spark.executorEnv, which
Spark redacts), never as an option. On Spark >= 4 the same session serves Spark Connect on
127.0.0.1 (`connect_url`), as Databricks serverless does: its clients are other processes."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import TOKEN


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def connect_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def connect_url(spark: Any, connect_port: int) -> str:
    import pyspark

    if int(pyspark.__version__.split(".")[0]) < 4:
        pytest.skip("Spark Connect's server is tested on Spark >= 4")
    return f"sc://127.0.0.1:{connect_port}"


@pytest.fixture(scope="session")
def spark(connect_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import pyspark
    from pyspark.sql import SparkSession

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ["PYSPARK_PYTHON"] = sys.executable
    # The JVM and its Python workers keep the working directory they start in: an empty one,
    # so no .env file of the developer's reaches TikTokAuth on the executors.
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("spark-cwd"))
    try:
        builder = SparkSession.builder
        if int(pyspark.__version__.split(".")[0]) >= 4:
            builder = (
                builder.config("spark.plugins", "org.apache.spark.sql.connect.SparkConnectPlugin")
                .config("spark.connect.grpc.binding.address", "127.0.0.1")
                .config("spark.connect.grpc.binding.port", str(connect_port))
            )
        session = (
            builder.master("local[2,4]")  # 2 threads, a task may fail 4 times
            .appName("pytt-events-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.speculation", "false")
            .config("spark.executorEnv.TIKTOK_ACCESS_TOKEN", TOKEN)
            .getOrCreate()
        )
    finally:
        os.chdir(here)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
