"""Settings the environment gets wrong are refused in one line that names the variable and what it
takes: a switch's unknown word (`enabled` was silently off), a number that is not one, and
persistence without a place to keep the state."""

import subprocess
import sys

import pytest

from emulator.config import Settings


@pytest.mark.parametrize("name", ["ECS_EMULATOR_PERSIST", "ECS_EMULATOR_ENFORCE_IAM",
                                  "ECS_EMULATOR_KEEP_RESOURCES"])
def test_an_unknown_switch_word_is_refused(monkeypatch, tmp_path, name):
    monkeypatch.setenv("ECS_EMULATOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(name, "enabled")
    with pytest.raises(ValueError) as refused:
        Settings.from_env()
    assert str(refused.value) == (f"{name} must be 1, true, yes, on or 0, false, no, off, "
                                  "not 'enabled'")


@pytest.mark.parametrize("word, value", [("1", True), (" Yes ", True), ("ON", True),
                                         ("true", True), ("0", False), ("off", False),
                                         ("No", False), ("false", False), ("", False)])
def test_the_switch_words_both_ways(monkeypatch, word, value):
    monkeypatch.setenv("ECS_EMULATOR_ENFORCE_IAM", word)
    assert Settings.from_env().enforce_iam is value


@pytest.mark.parametrize("name, says", [
    ("ECS_EMULATOR_PORT", "ECS_EMULATOR_PORT must be a port number"),
    ("ECS_EMULATOR_FRONT_DOOR_PORT", "ECS_EMULATOR_FRONT_DOOR_PORT must be a port number"),
    ("ECS_EMULATOR_THREADS", "ECS_EMULATOR_THREADS must be a whole number"),
    ("ECS_EMULATOR_STEADY_AFTER", "ECS_EMULATOR_STEADY_AFTER must be a number of seconds"),
    ("ECS_EMULATOR_PLACEMENT_WAIT", "ECS_EMULATOR_PLACEMENT_WAIT must be a number of seconds"),
])
def test_a_number_that_is_not_one_is_refused_by_name(monkeypatch, name, says):
    monkeypatch.setenv(name, "abc")
    with pytest.raises(ValueError) as refused:
        Settings.from_env()
    assert str(refused.value).startswith(says) and str(refused.value).endswith("not 'abc'")


@pytest.mark.parametrize("raw", ["70000", "-1", "65536"])
def test_a_port_out_of_range_is_refused_rather_than_wrapped(monkeypatch, raw):
    monkeypatch.setenv("ECS_EMULATOR_PORT", raw)  # (the socket layer would take 70000 for 4464)
    with pytest.raises(ValueError, match=f"^ECS_EMULATOR_PORT must be a port number .*'{raw}'$"):
        Settings.from_env()


def test_numbers_are_still_read(monkeypatch):
    monkeypatch.setenv("ECS_EMULATOR_PORT", "4999")
    monkeypatch.setenv("ECS_EMULATOR_STEADY_AFTER", "0.5")
    settings = Settings.from_env()
    assert (settings.port, settings.steady_after_s) == (4999, 0.5)


@pytest.mark.parametrize("blank", ["  ", "\t", " \n"])
def test_a_blank_value_reads_as_unset(monkeypatch, blank):
    """As before values were checked: `X="  "` in a compose file does not stop the server."""
    for name in ("ECS_EMULATOR_ENFORCE_IAM", "ECS_EMULATOR_THREADS", "ECS_EMULATOR_PORT",
                 "ECS_EMULATOR_STEADY_AFTER", "ECS_EMULATOR_HOST", "ECS_EMULATOR_REGION",
                 "ECS_EMULATOR_ACCOUNT_ID", "ECS_EMULATOR_DATA_DIR"):
        monkeypatch.setenv(name, blank)
    settings, default = Settings.from_env(), Settings()
    assert (settings.enforce_iam, settings.threads, settings.port, settings.steady_after_s) == \
        (default.enforce_iam, default.threads, default.port, default.steady_after_s)
    assert (settings.host, settings.default_region, settings.default_account_id,
            settings.data_dir) == (default.host, default.default_region,
                                   default.default_account_id, None)
    # so a blank data directory is none: persisting without one is refused, not kept in "  "
    monkeypatch.setenv("ECS_EMULATOR_PERSIST", "1")
    with pytest.raises(ValueError, match="ECS_EMULATOR_PERSIST needs ECS_EMULATOR_DATA_DIR"):
        Settings.from_env()


@pytest.mark.parametrize("name, raw", [
    ("ECS_EMULATOR_SPOT_WARNING", "-5"), ("ECS_EMULATOR_TASK_RETENTION", "-1"),
    ("ECS_EMULATOR_CFN_STABILIZE_TIMEOUT", "-1"), ("ECS_EMULATOR_THREADS", "0"),
    ("ECS_EMULATOR_DOCKER_CONCURRENCY", "0"), ("ECS_EMULATOR_SANDBOX_POOL", "-2")])
def test_a_count_or_duration_below_its_least_is_refused(monkeypatch, name, raw):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ValueError, match=f"^{name} must be a whole number, [01] or more, "
                                         f"not '{raw}'$"):
        Settings.from_env()


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "-1", "1e999"])
def test_a_duration_that_no_wait_can_be_is_refused(monkeypatch, raw):
    for name in ("ECS_EMULATOR_STEADY_AFTER", "ECS_EMULATOR_ENGINE_LOST_AFTER",
                 "ECS_EMULATOR_PLACEMENT_WAIT"):
        monkeypatch.setenv(name, raw)
        with pytest.raises(ValueError, match=f"^{name} must be a number of seconds .*'{raw}'$"):
            Settings.from_env()
        monkeypatch.delenv(name)


def test_persistence_without_a_data_directory_is_refused(monkeypatch, tmp_path):
    monkeypatch.delenv("ECS_EMULATOR_DATA_DIR", raising=False)
    monkeypatch.setenv("ECS_EMULATOR_PERSIST", "1")
    with pytest.raises(ValueError, match="ECS_EMULATOR_PERSIST needs ECS_EMULATOR_DATA_DIR"):
        Settings.from_env()
    assert Settings.from_env(data_dir=str(tmp_path)).persist


@pytest.mark.parametrize("variables, says", [
    ({"ECS_EMULATOR_PERSIST": "enabled"}, "ECS_EMULATOR_PERSIST must be 1, true, yes, on"),
    ({"ECS_EMULATOR_PORT": "abc"}, "ECS_EMULATOR_PORT must be a port number"),
    ({"ECS_EMULATOR_PORT": "70000"}, "ECS_EMULATOR_PORT must be a port number"),
    ({"ECS_EMULATOR_STEADY_AFTER": "abc"}, "ECS_EMULATOR_STEADY_AFTER must be a number"),
    ({"ECS_EMULATOR_PERSIST": "1"}, "ECS_EMULATOR_PERSIST needs ECS_EMULATOR_DATA_DIR"),
])
def test_the_cli_refuses_in_one_line_without_a_traceback(variables, says):
    environment = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", **variables}
    done = subprocess.run([sys.executable, "-m", "emulator", "serve", "--port", "0"],
                          env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"ecs-emulator: {says}"), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_a_port_option_out_of_range_is_refused():
    done = subprocess.run([sys.executable, "-m", "emulator", "serve", "--port", "70000"],
                          env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "argument --port: --port must be a port number (a whole number, 0 to 65535), " \
           "not '70000'" in done.stderr
