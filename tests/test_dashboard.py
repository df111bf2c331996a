"""The dashboard at /_emulator/ui/ in a real browser: Debian's headless Chromium driven by
Selenium through chromedriver, with no network but the emulator. One browser for the module.

What a developer does with it: watch a service's tasks appear, kill a container and see the
replacement and the service's events, read a task's output, open the app through its published
port, look at ECR images. Screenshots of each view go to tests/artifacts/dashboard/ (gitignored).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.waiting import wait_for
from test_ecr_helpers import push_image

pytestmark = pytest.mark.docker

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "dashboard"
APP_PAGE = "<h1>dashboard app</h1>"
# What a view waits for is mostly tasks starting, which took 38 s on a host loaded at 30
# (2 cores): as long as tests/waiting.py's other waits; a wait that holds returns at once.
WAIT_S = 60
# The shell prints a line, then busybox httpd serves a page; TERM ends it at once.
WEB = ("trap 'exit 0' TERM; echo hello-from-web; mkdir -p /www && "
       f"echo '{APP_PAGE}' > /www/index.html && httpd -f -p 80 -h /www & wait")


@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("needs Debian's chromium and chromium-driver (scripts/test.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="ecs-emulator-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # No internet here: nothing that phones home, a fresh profile, no sandbox (root in CI).
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Page:
    """The dashboard in the browser: navigation, waits on what it shows, screenshots."""

    def __init__(self, driver, endpoint: str):
        self.driver = driver
        self.base = f"{endpoint}/_emulator/ui/"

    def open(self, route: str = "") -> None:
        """The dashboard at `route` in a new document, once its script has drawn the view."""
        # Chromium aborts a load in flight when an interface comes or goes (ERR_NETWORK_CHANGED),
        # which other test sessions' tasks do all the time: a page whose script never arrived
        # shows nothing, and is loaded again, as a user would. Each try leaves for about:blank
        # first: a second get() of a URL with a fragment is a fragment navigation in the same
        # dead document, not a load.
        seen = []
        for _ in range(3):
            self.driver.get("about:blank")
            self.driver.get(self.base + route)
            try:
                wait_for(self.main_text, bool, timeout=10, interval=0.2)
                return
            except AssertionError:
                seen.append(self._load_report())
        raise AssertionError(f"the dashboard drew nothing in three loads: {seen}")

    def _load_report(self) -> dict:
        """What the browser says about a load that drew nothing (for the failure's message)."""
        return {"readyState": self.driver.execute_script("return document.readyState"),
                "resources": self.driver.execute_script(
                    "return performance.getEntriesByType('resource').map("
                    "e => [e.name, Math.round(e.duration), e.responseStatus])"),
                "log": self.driver.get_log("browser")}

    def go(self, route: str) -> None:
        self.driver.execute_script("location.hash = arguments[0]", route)

    def main_text(self) -> str:
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.common.by import By

        try:
            return self.driver.find_element(By.ID, "main").text
        except StaleElementReferenceException:
            return ""

    def wait_text(self, *needles: str) -> str:
        return wait_for(self.main_text, lambda text: all(n in text for n in needles),
                        timeout=WAIT_S, interval=0.2)

    def rows(self, selector: str = "main table tbody tr") -> list[list[str]]:
        from selenium.webdriver.common.by import By

        found = []
        for row in self.driver.find_elements(By.CSS_SELECTOR, selector):
            try:
                found.append([cell.text for cell in row.find_elements(By.TAG_NAME, "td")])
            except Exception:  # re-rendered under us: the next poll reads it again
                return []
        return found

    def click(self, how: str, what: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ready
        from selenium.webdriver.support.ui import WebDriverWait

        from selenium.common.exceptions import StaleElementReferenceException

        clickable = ready.element_to_be_clickable((getattr(By, how), what))

        def clicked(driver) -> bool:
            # The view redraws as its poll brings news (a task's buttons at each new version):
            # an element found just before that is gone, and the redrawn one is clicked.
            element = clickable(driver)
            if element:
                element.click()
            return bool(element)

        WebDriverWait(self.driver, WAIT_S,
                      ignored_exceptions=[StaleElementReferenceException]).until(clicked)

    def screenshot(self, name: str) -> None:
        self.driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))

    def console_errors(self) -> list[dict]:
        """The page's errors (not those of an app it opened, whose favicon may be missing)."""
        origin = self.base.split("/_emulator")[0]
        # Chromium aborts requests in flight when an interface comes or goes, which Docker's
        # veths do as tasks start and stop: the page polls again, and so that is no error here.
        return [e for e in self.driver.get_log("browser")
                if e["level"] == "SEVERE" and origin in e["message"]
                and "ERR_NETWORK_CHANGED" not in e["message"]]


@pytest.fixture
def page(browser, clean_emulator):
    # The last test's page still polls what the reset just removed (its task, its service: a
    # 400 each second): leave it, then drop what it logged, or this test's console holds it.
    browser.get("about:blank")
    browser.get_log("browser")
    return Page(browser, clean_emulator.endpoint_url)


def _web_definition(ecs, busybox_image: str) -> str:
    ecs.register_task_definition(
        family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", executionRoleArn="arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
        containerDefinitions=[
            {"name": "web", "image": busybox_image, "entryPoint": ["sh", "-c"], "command": [WEB],
             "portMappings": [{"containerPort": 80}], "stopTimeout": 2,
             "logConfiguration": {"logDriver": "awslogs", "options": {
                 "awslogs-group": "dash", "awslogs-region": "us-east-1",
                 "awslogs-stream-prefix": "web", "awslogs-create-group": "true"}}},
            # Docker's own log (no awslogs): the page reads it through the dashboard's endpoint.
            {"name": "side", "image": busybox_image, "essential": False, "stopTimeout": 1,
             "command": ["sh", "-c", "echo hello-from-side; exec sleep 3600"]},
        ])
    return "web"


def test_service_tasks_appear_and_a_killed_container_is_replaced(page, clean_emulator,
                                                                  busybox_image):
    ecs = clean_emulator.client("ecs")
    page.open("#/services")
    page.wait_text("No clusters")
    ecs.create_cluster(clusterName="dash")
    ecs.create_service(cluster="dash", serviceName="web", taskDefinition=_web_definition(
        ecs, busybox_image), desiredCount=2, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})

    # The list, without a reload: desired, running and pending as the service reaches them.
    # COMPLETED follows once the tasks have stayed up (ECS_EMULATOR_STEADY_AFTER).
    wait_for(page.rows, lambda rows: any(r[:6] == ["web", "dash", "ACTIVE", "2", "2", "0"]
                                         and "COMPLETED" in r[6] for r in rows), timeout=WAIT_S)
    page.screenshot("services")

    page.click("LINK_TEXT", "web")
    page.wait_text("Deployments", "has reached a steady state", "Circuit breaker")
    tasks = wait_for(page.rows, lambda rows: sum("RUNNING" in r for r in rows) == 2,
                     timeout=WAIT_S)
    first = tasks[-1][0]
    page.screenshot("service")

    page.click("LINK_TEXT", first)
    page.wait_text(f"Task {first}", "started (RUNNING)")
    page.click("XPATH", "//button[normalize-space()='Kill container']")
    page.wait_text("Stopped:", "EssentialContainerExited")
    page.screenshot("task-killed")

    page.go("#/service/dash/web")
    rows = wait_for(page.rows, lambda rows: sum(r[4] == "RUNNING" for r in rows) == 2
                    and first not in {r[0] for r in rows if r[4] == "RUNNING"}, timeout=WAIT_S)
    assert any(r[0] == first and r[5] == "STOPPED" for r in rows)  # its desired status
    page.wait_text("has started 1 tasks")
    page.screenshot("service-after-kill")
    assert page.console_errors() == []


def test_a_tasks_output_and_its_published_port(page, clean_emulator, busybox_image):
    ecs = clean_emulator.client("ecs")
    ecs.create_cluster(clusterName="dash")
    task = ecs.run_task(cluster="dash", taskDefinition=_web_definition(ecs, busybox_image),
                        launchType="FARGATE", networkConfiguration={
                            "awsvpcConfiguration": {"subnets": ["subnet-1"]}})["tasks"][0]
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    page.open(f"#/task/{task_id}")
    page.wait_text("started (RUNNING)", "web | hello-from-web", "side | hello-from-side")
    page.screenshot("task")

    page.click("CSS_SELECTOR", "main a.port")
    opener = page.driver.current_window_handle
    wait_for(lambda: page.driver.window_handles, lambda handles: len(handles) == 2, timeout=10)
    page.driver.switch_to.window(next(h for h in page.driver.window_handles if h != opener))
    try:
        wait_for(lambda: page.driver.page_source, lambda html: "dashboard app" in html,
                 timeout=10)
        assert page.driver.current_url.startswith("http://127.0.0.1:")
    finally:
        page.driver.close()
        page.driver.switch_to.window(opener)
    page.click("XPATH", "//summary[contains(., 'Task metadata')]")
    page.wait_text('"TaskARN"', task["taskArn"])
    # Once stopped, its ports are text, not links: Docker may give those host ports to another task.
    ecs.stop_task(cluster="dash", task=task["taskArn"])
    wait_for(lambda: page.driver.find_elements("css selector", "main span.port"),
             lambda found: len(found) > 0, timeout=WAIT_S)
    assert page.driver.find_elements("css selector", "main a.port") == []
    assert page.console_errors() == []


def test_ecr_images_with_tags_and_scan_findings(page, clean_emulator):
    ecr = clean_emulator.client("ecr")
    ecr.create_repository(repositoryName="shop/api")
    digest = push_image(ecr, "shop/api", tag="v1")
    ecr.start_image_scan(repositoryName="shop/api", imageId={"imageDigest": digest})
    planted = {"repositoryName": "shop/api", "imageDigest": digest,
               "findings": [{"name": "CVE-2024-0001", "severity": "HIGH"}]}
    request = urllib.request.Request(f"{clean_emulator.endpoint_url}/_emulator/ecr/findings",
                                     data=json.dumps(planted).encode(), method="PUT",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).close()
    page.open("#/ecr")
    page.wait_text("shop/api", "v1", digest[:19], "COMPLETE · HIGH 1")
    page.screenshot("ecr")


def test_usable_with_the_keyboard(page, clean_emulator):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    clean_emulator.client("ecs").create_cluster(clusterName="keys")
    page.open("#/services")
    page.wait_text("keys")
    keys = ActionChains(page.driver)
    keys.send_keys(Keys.TAB).perform()  # the first stop: the skip link, shown when focused
    assert page.driver.switch_to.active_element.text == "Skip to content"
    keys.send_keys(Keys.TAB, Keys.TAB, Keys.TAB).perform()  # the title, Services, Tasks
    focused = page.driver.switch_to.active_element
    assert focused.text == "Tasks"
    assert focused.value_of_css_property("outline-style") == "solid"  # a visible focus ring
    keys.send_keys(Keys.ENTER).perform()
    page.wait_text("Tasks", "Last status")
    assert page.driver.current_url.endswith("#/tasks")


def _stack_template(image: str) -> dict:
    return {"Description": "dashboard stack", "Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "stk"}},
        "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "stk-web", "NetworkMode": "awsvpc", "Cpu": "256", "Memory": "512",
            "RequiresCompatibilities": ["FARGATE"],
            "ContainerDefinitions": [{"Name": "main", "Image": image, "Memory": 32,
                                      "StopTimeout": 2, "Command": [
                                          "sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]}]}},
        "Service": {"Type": "AWS::ECS::Service", "Properties": {
            "ServiceName": "web", "Cluster": {"Ref": "Cluster"},
            "TaskDefinition": {"Ref": "TaskDef"}, "DesiredCount": 0, "LaunchType": "FARGATE",
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"]}},
            "DeploymentConfiguration": {"DeploymentCircuitBreaker": {
                "Enable": True, "Rollback": True, "ResetOnHealthyTask": False,
                "ThresholdConfiguration": {"Type": "COUNT", "Value": 2}}}}},
        "Repository": {"Type": "AWS::ECR::Repository",
                       "Properties": {"RepositoryName": "stk/app"}},
    }}


def test_stacks_show_their_resources_linked_and_their_events(page, clean_emulator,
                                                             busybox_image):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    cfn = clean_emulator.client("cloudformation")
    cfn.create_stack(StackName="shop", TemplateBody=json.dumps(_stack_template(busybox_image)))
    service_arn = clean_emulator.client("ecs").describe_services(
        cluster="stk", services=["web"])["services"][0]["serviceArn"]
    page.open("#/stacks")
    page.wait_text("shop", "CREATE_COMPLETE", "dashboard stack", "AWS::ECS::Service",
                   service_arn, "AWS::ECR::Repository", "stk/app")
    rows = {r[0]: r for r in page.rows()}
    assert set(rows) == {"Cluster", "TaskDef", "Service", "Repository"}
    assert all(r[2] == "CREATE_COMPLETE" for r in rows.values()), rows
    assert rows["Cluster"][3] == "stk" and rows["Repository"][3] == "stk/app"
    page.screenshot("stacks")

    # The events, opened from the keyboard: the stack's own and its resources'.
    page.driver.find_element("css selector", "main details summary").send_keys(" ")
    page.wait_text("Service CREATE_IN_PROGRESS", "shop CREATE_COMPLETE")
    page.screenshot("stack-events")

    # Physical ids lead to the views of what they name.
    page.click("LINK_TEXT", service_arn)
    # The stack's circuit breaker settings reached the service (and the page shows them).
    page.wait_text("Service web", "Deployments", "Circuit breaker on, with rollback, threshold "
                   "COUNT 2, failures add up (resetOnHealthyTask off).")
    assert page.driver.current_url.endswith("#/service/stk/web")
    page.go("#/stacks")
    page.click("LINK_TEXT", "stk/app")
    page.wait_text("ECR repository stk/app")
    page.go("#/stacks")
    page.wait_text("AWS::ECS::Cluster")
    link = page.driver.find_element("link text", "stk")
    link.send_keys("")  # focus it, then follow it with Enter as a keyboard user does
    ActionChains(page.driver).send_keys(Keys.ENTER).perform()
    wait_for(page.rows, lambda rows: any(r[:2] == ["web", "stk"] for r in rows), timeout=WAIT_S)
    assert page.driver.find_element("id", "cluster").get_attribute("value") == "stk"
    assert page.console_errors() == []
    cfn.delete_stack(StackName="shop")


FETCH = """const done = arguments[arguments.length - 1];
fetch(arguments[0], {method: arguments[1], mode: arguments[2], credentials: "include"})
    .then(r => done(r.type === "opaque" ? "sent" : r.status), e => done("refused"));"""


CALL = """const done = arguments[arguments.length - 1];
fetch(arguments[0], {method: "POST", body: arguments[2], headers: {
    "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": arguments[1],
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/ecs/aws4_request, " +
                     "SignedHeaders=host, Signature=0"}})
    .then(r => done(r.status), e => done("refused"));"""
ECS_TARGET = "AmazonEC2ContainerServiceV20141113"


@pytest.fixture
def task_page():
    """A page of this host on a port of its own, as a task's on its published port: `url`, and
    the headers of each request its server was sent (`seen`), as the task would read them."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen = []

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, dict(self.headers.items())))
            body = b"<html><body>a task's page</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}/", seen=seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_tasks_page_cannot_drive_the_aws_apis_through_the_browser(page, clean_emulator,
                                                                    task_page):
    """The browser connects from 127.0.0.1, as this host: a task's page must get no call in
    (a privileged task definition of the host's "/" would follow), while the dashboard's own
    calls (same origin) go on."""
    definition = json.dumps({
        "family": "planted", "volumes": [{"name": "root", "host": {"sourcePath": "/"}}],
        "containerDefinitions": [{"name": "c", "image": "busybox", "memory": 64,
                                  "privileged": True, "mountPoints": [
                                      {"sourceVolume": "root", "containerPath": "/host"}]}]})
    api = clean_emulator.endpoint_url
    # What the task can do first: a bucket whose CORS rule lets any page send anything.
    s3 = clean_emulator.client("s3")
    s3.create_bucket(Bucket="open")
    s3.put_bucket_cors(Bucket="open", CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": ["*"], "AllowedMethods": ["POST"], "AllowedHeaders": ["*"]}]})
    page.driver.get(task_page.url)
    for path in ("/", "/open"):  # (the JSON APIs are served on any path, by X-Amz-Target)
        assert page.driver.execute_async_script(
            CALL, api + path, f"{ECS_TARGET}.RegisterTaskDefinition", definition) == "refused"
    assert clean_emulator.client("ecs").list_task_definitions()["taskDefinitionArns"] == []
    page.open()  # the dashboard's own calls
    assert page.driver.execute_async_script(CALL, api + "/", f"{ECS_TARGET}.ListClusters",
                                            "{}") == 200


# What a page may read of its own origin where the dashboard's token could have been left.
KEPT = "return [document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)]"
OWN_ORIGIN = """const done = arguments[arguments.length - 1];
fetch(arguments[0], {credentials: "include"}).then(r => done(r.status), e => done("refused"));"""


def test_no_page_of_another_port_gets_the_control_token(page, clean_emulator, task_page):
    """Where the control endpoints ask for the token (Docker Desktop), a task's page on its
    published port of 127.0.0.1 (same site, another origin) must not get hold of it: the
    dashboard keeps it in its origin's storage and sends it as a header, never as a cookie,
    which the browser would send to the task's own server along with the page's requests.
    A page of the front doors' port is refused the control endpoints whatever it sends."""
    emulator = clean_emulator
    emulator.client("ecs").create_cluster(clusterName="kept")
    token = emulator.emulator.control_token
    driver = page.driver
    enforced, token.enforced = token.enforced, True  # as on Docker Desktop
    try:
        link = token.dashboard_link(emulator.endpoint_url)
        assert link == f"{page.base}#token={token.value}"  # in the fragment: never sent
        page.open(f"#token={token.value}")
        page.wait_text("kept")  # the dashboard reads with it
        assert token.value not in driver.current_url  # taken out of the address
        assert driver.get_cookies() == []
        scopes = f"{emulator.endpoint_url}/_emulator/ui/api/scopes"

        # A task's page on its own port: what it asks of its own server carries no token (a
        # cookie of 127.0.0.1 would), and nothing of its origin holds it.
        driver.get(task_page.url)
        assert driver.execute_async_script(OWN_ORIGIN, "/_emulator/ui/api/scopes") == 200
        assert driver.execute_async_script(OWN_ORIGIN, "/_emulator/reset") == 200
        assert {"/_emulator/ui/api/scopes", "/_emulator/reset"} <= {
            path for path, _ in task_page.seen}
        assert not any(token.value in f"{name}: {value}" for _, headers in task_page.seen
                       for name, value in headers.items())
        assert not any(token.value in kept for kept in driver.execute_script(KEPT))
        assert driver.execute_async_script(FETCH, scopes, "GET", "cors") == "refused"

        # Any page of the front doors' origin (no such service: the front door's own 404).
        driver.get(f"{emulator.front_door_url}/express/default/task-page/")
        assert not any(token.value in kept for kept in driver.execute_script(KEPT))
        assert driver.execute_async_script(FETCH, scopes, "GET", "cors") == "refused"
        reset = f"{emulator.endpoint_url}/_emulator/reset"
        assert driver.execute_async_script(FETCH, reset, "POST", "no-cors") == "sent"
        clusters = emulator.client("ecs").describe_clusters(clusters=["kept"])["clusters"]
        assert [c["clusterName"] for c in clusters] == ["kept"]  # the reset was refused

        # The dashboard opened again without the link (a bookmark, a new tab) keeps reading.
        page.open("#/services")
        page.wait_text("kept")
        # Without the token (another browser) it says where to get it.
        driver.execute_script("localStorage.clear()")
        page.open("#/services")
        wait_for(lambda: driver.find_element("id", "status").text,
                 lambda text: "printed at start" in text, timeout=WAIT_S, interval=0.2)
        page.go(f"#token={token.value}")  # the link pasted into that tab
        page.wait_text("kept")
        assert token.value not in driver.current_url
    finally:
        token.enforced = enforced
        driver.get("about:blank")
