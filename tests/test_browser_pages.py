"""Web pages in the user's browser cannot drive the emulator (emulator/access/browsers.py): a
page of another origin (another site's, a task's on its published port of this host), a request
a browser marks as another site's, and one addressed to a DNS-rebound name are refused on every
path, and moto grants no CORS; SDKs, the dashboard's own requests, the emulator's own names and
what the operator allowed (ECS_EMULATOR_ALLOWED_HOSTS, ECS_EMULATOR_ALLOWED_ORIGINS) pass."""

import gc
import http.client
import json
from urllib.parse import quote, urlsplit

import pytest

from emulator import cli
from emulator.access.browsers import BrowserRules, normal_origin
from emulator.app import create_app
from emulator.config import Settings


def answer(emulator, method, path, headers, body=b""):
    return answer_at(emulator.endpoint_url, method, path, headers, body)


def answer_at(url, method, path, headers, body=b""):
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def test_a_cross_site_form_cannot_reset_the_emulator(clean_emulator):
    ecs = clean_emulator.client("ecs")
    ecs.create_cluster(clusterName="kept")
    status, _, body = answer(clean_emulator, "POST", "/_emulator/reset",
                             {"Origin": "https://evil.example",
                              "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403
    assert json.loads(body)["__type"] == "AccessDeniedException"
    assert [c["clusterName"] for c in ecs.describe_clusters(clusters=["kept"])["clusters"]] == ["kept"]


KILL = "/_emulator/tasks/0123456789abcdef0123456789abcdef/kill"


def test_a_cross_site_text_form_cannot_kill_a_task(clean_emulator):
    status, _, body = answer(clean_emulator, "POST", KILL,
                             {"Origin": "https://evil.example", "Content-Type": "text/plain"},
                             b'{"signal": "SIGTERM", "x": "=y"}')
    assert status == 403
    assert json.loads(body)["__type"] == "AccessDeniedException"


def test_only_a_json_body_is_a_control_request(clean_emulator):
    """An old browser sends no Origin: its <form enctype="text/plain">, or fetch's no-cors
    mode with a form's label or none, can send JSON as typed, and the gate cannot tell it from
    curl. Only application/json, which a page cannot send without a preflight, is read."""
    engine = b'{"name": "planted", "dockerHost": "tcp://203.0.113.9:2375"}'
    for kind in ("text/plain", "multipart/form-data; boundary=x", "text/plain; charset=utf-8",
                 "application/x-www-form-urlencoded"):
        for path, body in ((KILL, b'{"signal": "SIGTERM"}'), (KILL, b""),
                           ("/_emulator/engines", engine)):
            status, _, answered = answer(clean_emulator, "POST", path,
                                         {"Content-Type": kind}, body)
            assert status == 415, (kind, path, answered)
            assert json.loads(answered)["__type"] == "UnsupportedMediaTypeException"
    assert "planted" not in json.dumps(answer(clean_emulator, "GET", "/_emulator/engines", {})[2]
                                       .decode())
    # An unlabelled body is refused too; no body and no label is the defaults' request.
    for path, body in ((KILL, b'{"signal": "SIGTERM"}'), ("/_emulator/engines", engine)):
        status, _, answered = answer(clean_emulator, "POST", path, {}, body)
        assert status == 415, (path, answered)
    assert "planted" not in json.dumps(answer(clean_emulator, "GET", "/_emulator/engines", {})[2]
                                       .decode())
    # JSON, or nothing at all: read, and the unknown task is what is wrong
    for headers, body in (({"Content-Type": "application/json"}, b'{"signal": "x"}'),
                          ({}, b"")):
        status, _, answered = answer(clean_emulator, "POST", KILL, headers, body)
        assert status not in (415, 500) and status >= 400, (headers, answered)
        assert json.loads(answered)["__type"] != "UnsupportedMediaTypeException"


def test_a_cross_site_page_cannot_call_the_aws_apis(clean_emulator):
    status, _, _ = answer(clean_emulator, "POST", "/",
                          {"Origin": "http://evil.example:4566",
                           "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.CreateCluster",
                           "Content-Type": "application/x-amz-json-1.1"},
                          b'{"clusterName": "planted"}')
    assert status == 403
    assert clean_emulator.client("ecs").list_clusters()["clusterArns"] == []


def test_a_rebound_host_name_reads_no_control_endpoint_but_the_health(clean_emulator):
    host = f"rebound.example:{urlsplit(clean_emulator.endpoint_url).port}"
    for method, path in (("GET", "/_emulator/ui/api/summary"), ("GET", "/_emulator/tasks"),
                         ("POST", "/_emulator/health")):
        status, _, _ = answer(clean_emulator, method, path, {"Host": host})
        assert status == 403, path
    # Compose's and CI's readiness checks: `curl http://ecs-emulator:4566/_emulator/health`
    for host in (host, "ecs-emulator:4566", "docker:4566"):
        for method in ("GET", "HEAD"):
            status, _, _ = answer(clean_emulator, method, "/_emulator/health", {"Host": host})
            assert status == 200, (host, method)


# -- a page of this host's: a task's, on its published port ------------------------------------

TASK_PAGE = "http://127.0.0.1:32768"  # the README's tutorial opens one there
ECS = "AmazonEC2ContainerServiceV20141113"
# The credential scope is all the emulator reads of a signature: a page may make one up.
SIGNED = "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/{}/aws4_request, " \
         "SignedHeaders=host, Signature=0"
HOST_MOUNT = json.dumps({
    "family": "planted", "volumes": [{"name": "root", "host": {"sourcePath": "/"}}],
    "containerDefinitions": [{"name": "c", "image": "busybox", "memory": 64, "privileged": True,
                              "mountPoints": [{"sourceVolume": "root",
                                               "containerPath": "/host"}]}]}).encode()


def refused(status, body) -> bool:
    return status == 403 and json.loads(body)["__type"] == "AccessDeniedException"


def test_a_tasks_page_on_this_host_gets_no_preflight_and_no_call(clean_emulator):
    # The browser connects from 127.0.0.1: were the page's call served, it would be this
    # host's, out of reach of the rules for tasks (a privileged task definition of "/"). A
    # task may give a bucket a CORS rule for any origin: moto's S3 answered its preflights.
    s3 = clean_emulator.client("s3")
    s3.create_bucket(Bucket="open")
    s3.put_bucket_cors(Bucket="open", CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": ["*"], "AllowedMethods": ["POST"], "AllowedHeaders": ["*"]}]})
    for path in ("/", "/open", "/open/x"):
        status, headers, body = answer(clean_emulator, "OPTIONS", path, {
            "Origin": TASK_PAGE, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-amz-target",
            "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"})
        assert refused(status, body), path
        assert "Access-Control-Allow-Origin" not in headers
        status, headers, body = answer(clean_emulator, "POST", path, {
            "Origin": TASK_PAGE, "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors",
            "X-Amz-Target": f"{ECS}.RegisterTaskDefinition",
            "Authorization": SIGNED.format("ecs"), "Content-Type": "application/x-amz-json-1.1"},
            HOST_MOUNT)
        assert refused(status, body), path
        assert "Access-Control-Allow-Origin" not in headers
    assert clean_emulator.client("ecs").list_task_definitions()["taskDefinitionArns"] == []


def test_a_form_of_a_page_on_localhost_reaches_no_query_service(clean_emulator):
    # A form POST needs no preflight; a page on localhost was once "a page of your own".
    form = "Action=CreateQueue&QueueName=planted&Version=2012-11-05"
    for origin in ("http://localhost:3000", TASK_PAGE):
        status, _, body = answer(clean_emulator, "POST", "/", {
            "Origin": origin, "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate",
            "Content-Type": "application/x-www-form-urlencoded"}, form.encode())
        assert refused(status, body), origin
    assert clean_emulator.client("sqs").list_queues().get("QueueUrls", []) == []


def test_a_pages_requests_without_origin_are_told_by_sec_fetch_site(clean_emulator):
    # <img src>, a link, a form GET: no Origin, but the browser marks them another site's.
    s3 = clean_emulator.client("s3")
    s3.create_bucket(Bucket="kept")
    s3.put_object(Bucket="kept", Key="old", Body=b"x")
    stack = "/?Action=CreateStack&StackName=planted&Version=2010-05-15&TemplateBody=" + quote(
        json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))
    for site in ("same-site", "cross-site"):
        for mode, method, path in (("no-cors", "GET", stack), ("navigate", "GET", stack),
                                   ("no-cors", "GET", "/kept/old"),
                                   ("no-cors", "DELETE", "/kept/old")):
            status, _, body = answer(clean_emulator, method, path, {
                "Sec-Fetch-Site": site, "Sec-Fetch-Mode": mode,
                "Authorization": SIGNED.format("cloudformation")})
            assert refused(status, body), (site, mode, path)
    assert clean_emulator.client("cloudformation").list_stacks()["StackSummaries"] == []
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="kept")["Contents"]] == ["old"]
    # a presigned URL typed into the address bar: served (the answer is the user's to see)
    url = urlsplit(s3.generate_presigned_url("get_object", Params={"Bucket": "kept",
                                                                   "Key": "old"}))
    status, _, body = answer(clean_emulator, "GET", f"{url.path}?{url.query}",
                             {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"})
    assert (status, body) == (200, b"x")


def test_a_rebound_host_name_reaches_no_aws_api_nor_the_registry(clean_emulator):
    # A page whose name is re-pointed at 127.0.0.1 is same-origin to itself: no Origin on a GET.
    port = urlsplit(clean_emulator.endpoint_url).port
    stack = "/?Action=CreateStack&StackName=planted&Version=2010-05-15&TemplateBody=" + quote(
        json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))
    for host in (f"rebound.example:{port}", "rebound.example", f"localhost.example:{port}"):
        for method, path in (("GET", stack), ("GET", "/v2/"), ("GET", "/_emulator/tasks")):
            status, _, body = answer(clean_emulator, method, path, {
                "Host": host, "Authorization": SIGNED.format("cloudformation"),
                "Sec-Fetch-Site": "same-origin"})
            assert refused(status, body), (host, path)
            assert "ECS_EMULATOR_ALLOWED_HOSTS" in json.loads(body)["message"]
    assert clean_emulator.client("cloudformation").list_stacks()["StackSummaries"] == []


def test_the_names_the_emulator_answers_to(clean_emulator, allowed):
    s3 = clean_emulator.client("s3")
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="k", Body=b"v")
    port = urlsplit(clean_emulator.endpoint_url).port

    def get(path, host):
        status, _, body = answer(clean_emulator, "GET", path, {
            "Host": host, "Authorization": SIGNED.format("s3")})
        return status, body

    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST",
                 f"host.docker.internal:{port}", f"169.254.170.2:{port}"):
        assert get("/site/k", host) == (200, b"v"), host
    # S3's virtual-host style, by a name under localhost
    assert get("/k", f"site.localhost:{port}") == (200, b"v")
    # a Compose service's name, once named in ECS_EMULATOR_ALLOWED_HOSTS (and names under one)
    def clusters(host):
        return answer(clean_emulator, "POST", "/", {
            "Host": host, "X-Amz-Target": f"{ECS}.ListClusters",
            "Authorization": SIGNED.format("ecs"), "Content-Type": "application/x-amz-json-1.1"},
            b"{}")[0]

    for host in (f"ecs-emulator:{port}", f"api.dev.test:{port}"):
        assert clusters(host) == 403
    allowed(hosts=("ecs-emulator", "*.dev.test"))
    assert get("/site/k", f"ecs-emulator:{port}") == (200, b"v")
    assert clusters(f"api.dev.test:{port}") == 200
    assert clusters(f"dev.test.evil:{port}") == 403


def test_the_dashboards_own_calls_pass_and_moto_grants_no_cors(clean_emulator):
    own = {"Origin": clean_emulator.endpoint_url, "Sec-Fetch-Site": "same-origin",
           "Sec-Fetch-Mode": "cors"}
    status, _, body = answer(clean_emulator, "POST", "/", {
        **own, "X-Amz-Target": f"{ECS}.ListClusters", "Authorization": SIGNED.format("ecs"),
        "Content-Type": "application/x-amz-json-1.1"}, b"{}")
    assert (status, json.loads(body)) == (200, {"clusterArns": []})
    clean_emulator.client("s3").create_bucket(Bucket="bucket")
    # moto's server would answer any Origin with CORS of its own
    status, headers, _ = answer(clean_emulator, "GET", "/bucket", {**own,
                                                             "Authorization": SIGNED.format("s3")})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    status, headers, _ = answer(clean_emulator, "OPTIONS", "/bucket", {
        **own, "Access-Control-Request-Method": "PUT"})
    assert "Access-Control-Allow-Origin" not in headers, status


def test_an_allowed_origins_page_calls_the_aws_apis_with_cors_and_nothing_else(clean_emulator,
                                                                               allowed):
    app = "http://localhost:3000"
    allowed(origins=(app,))
    page = {"Origin": app, "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"}
    status, headers, _ = answer(clean_emulator, "OPTIONS", "/", {
        **page, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-amz-target"})
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == app
    assert headers["Access-Control-Allow-Headers"] == "authorization,content-type,x-amz-target"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in headers
    status, headers, body = answer(clean_emulator, "POST", "/", {
        **page, "X-Amz-Target": f"{ECS}.CreateCluster", "Authorization": SIGNED.format("ecs"),
        "Content-Type": "application/x-amz-json-1.1"}, b'{"clusterName": "app"}')
    assert status == 200 and json.loads(body)["cluster"]["clusterName"] == "app"
    assert headers["Access-Control-Allow-Origin"] == app
    assert headers["Access-Control-Expose-Headers"] == "*"
    # the control endpoints stay the dashboard's; other origins and the front doors' stay out
    status, _, body = answer(clean_emulator, "POST", "/_emulator/reset", page)
    assert refused(status, body)
    for origin in ("http://localhost:3001", clean_emulator.front_door_url):
        status, _, body = answer(clean_emulator, "POST", "/", {
            **page, "Origin": origin, "X-Amz-Target": f"{ECS}.DeleteCluster",
            "Content-Type": "application/x-amz-json-1.1"}, b'{"cluster": "app"}')
        assert refused(status, body), origin
    # no Origin (an <img> of the page's): its site cannot be told apart from any other
    status, _, body = answer(clean_emulator, "GET", "/", {"Sec-Fetch-Site": "same-site",
                                                         "Sec-Fetch-Mode": "no-cors"})
    assert refused(status, body)
    assert clean_emulator.client("ecs").list_clusters()["clusterArns"] != []


@pytest.fixture
def allowed(clean_emulator):
    """Sets more host names or origins on the running emulator, as ECS_EMULATOR_ALLOWED_HOSTS
    and ECS_EMULATOR_ALLOWED_ORIGINS would; put back after the test."""
    rules = clean_emulator.emulator.browsers
    kept = rules.hosts, rules.origins

    def allow(hosts=(), origins=()):
        rules.hosts = frozenset(hosts)
        rules.origins = frozenset(normal_origin(o) for o in origins)

    yield allow
    rules.hosts, rules.origins = kept


def test_the_settings_of_allowed_hosts_and_origins(monkeypatch):
    monkeypatch.setenv("ECS_EMULATOR_ALLOWED_HOSTS", "ecs-emulator, *.Dev.test")
    monkeypatch.setenv("ECS_EMULATOR_ALLOWED_ORIGINS", "http://localhost:3000,https://[::1]:8443")
    settings = Settings.from_env()
    assert settings.allowed_hosts == ("ecs-emulator", "*.dev.test")
    assert settings.allowed_origins == ("http://localhost:3000", "https://[::1]:8443")
    for variable, value in (("ECS_EMULATOR_ALLOWED_HOSTS", "http://emulator"),
                            ("ECS_EMULATOR_ALLOWED_HOSTS", "emulator:4566"),
                            ("ECS_EMULATOR_ALLOWED_ORIGINS", "localhost:3000"),
                            ("ECS_EMULATOR_ALLOWED_ORIGINS", "http://localhost:3000/app"),
                            ("ECS_EMULATOR_ALLOWED_ORIGINS", "*")):
        monkeypatch.setenv(variable, value)
        with pytest.raises(ValueError, match=variable):
            Settings.from_env()
        monkeypatch.delenv(variable)


def test_the_registry_addresses_the_engines_are_told_are_names_of_ours():
    told = ["registry.lan:4566"]
    rules = BrowserRules(registries=lambda: told)
    assert rules.unknown_host({"HTTP_HOST": "registry.lan:4566"}) is None
    assert rules.unknown_host({"HTTP_HOST": "other.lan:4566"}) is not None
    told.clear()
    assert rules.unknown_host({"HTTP_HOST": "registry.lan:4566"}) is not None


def test_a_host_to_listen_on_given_as_a_name_is_a_name_of_ours():
    # `serve --host emu.lan` prints a dashboard link at http://emu.lan:PORT: it must open.
    rules = create_app(Settings(host="Emu.LAN", port=0)).browsers
    for host in ("emu.lan:4566", "EMU.lan", "127.0.0.1:4566"):
        assert rules.unknown_host({"HTTP_HOST": host}) is None, host
    assert rules.unknown_host({"HTTP_HOST": "other.lan:4566"}) is not None


def test_a_page_of_https_on_the_same_host_and_port_is_another_origin(clean_emulator):
    # The emulator serves http: https://127.0.0.1 is not its origin, on port 80 (Host without a
    # port) nor on its own port; http://127.0.0.1:80 is.
    port = urlsplit(clean_emulator.endpoint_url).port

    def clusters(host, origin):
        status, _, body = answer(clean_emulator, "POST", "/", {
            "Host": host, "Origin": origin, "X-Amz-Target": f"{ECS}.ListClusters",
            "Authorization": SIGNED.format("ecs"), "Content-Type": "application/x-amz-json-1.1"},
            b"{}")
        return status

    for host, origin in (("127.0.0.1", "https://127.0.0.1"), ("127.0.0.1", "https://127.0.0.1:80"),
                         (f"127.0.0.1:{port}", f"https://127.0.0.1:{port}"),
                         ("127.0.0.1:443", "https://127.0.0.1")):
        assert clusters(host, origin) == 403, (host, origin)
    for host, origin in (("127.0.0.1", "http://127.0.0.1:80"), ("127.0.0.1:80", "http://127.0.0.1"),
                         (f"127.0.0.1:{port}", f"http://127.0.0.1:{port}")):
        assert clusters(host, origin) == 200, (host, origin)
    assert normal_origin("HTTPS://App.test:443") == "https://app.test"
    assert normal_origin("https://app.test:80") == "https://app.test:80"
    assert normal_origin("http://app.test:443") == "http://app.test:443"


def test_a_public_sites_page_at_an_ip_address_is_no_page_of_this_host(clean_emulator):
    # The open paths and the front doors answer this host's pages: an IP address is one only
    # when it is this host's (loopback, its interfaces').
    for url in (clean_emulator.endpoint_url, clean_emulator.front_door_url):
        path = "/_emulator/health" if url == clean_emulator.endpoint_url else "/express/x/y/"
        for origin in ("http://203.0.113.5", "http://[2001:db8::5]:8080", "http://8.8.8.8:4566"):
            status, _, body = answer_at(url, "GET", path, {"Origin": origin})
            assert refused(status, body), (url, origin)
        for origin in ("http://127.0.0.2:3000", "http://[::1]:3000", "http://localhost:3000",
                       "http://app.localhost"):
            status, _, _ = answer_at(url, "GET", path, {"Origin": origin})
            assert status != 403, (url, origin)


def test_a_buckets_cors_rules_grant_no_origin_and_narrow_no_allowed_one(clean_emulator, allowed):
    # moto applies a bucket's CORS rules to any Origin that reaches it: the emulator's own
    # (same-origin, not listed) among them; an allowed origin's page reads every header.
    app = "http://localhost:3000"
    allowed(origins=(app,))
    s3 = clean_emulator.client("s3")
    s3.create_bucket(Bucket="rules")
    s3.put_object(Bucket="rules", Key="k", Body=b"v")
    s3.put_bucket_cors(Bucket="rules", CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"],
        "ExposeHeaders": ["x-amz-meta-a"]}]})
    status, headers, body = answer(clean_emulator, "GET", "/rules/k", {
        "Origin": clean_emulator.endpoint_url, "Authorization": SIGNED.format("s3")})
    assert (status, body) == (200, b"v")
    assert not [name for name in headers if name.lower().startswith("access-control-")]
    status, headers, body = answer(clean_emulator, "GET", "/rules/k", {
        "Origin": app, "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors",
        "Authorization": SIGNED.format("s3")})
    assert (status, body) == (200, b"v")
    assert headers.get_all("Access-Control-Allow-Origin") == [app]
    assert headers.get_all("Access-Control-Expose-Headers") == ["*"]
    assert "Access-Control-Allow-Methods" not in headers


def test_an_allowed_apps_img_and_links_of_presigned_urls_are_served(clean_emulator, allowed):
    # <img src=presigned-url>, <a href download>: no Origin, Sec-Fetch-Site same-site; the
    # Referer names the page. Without one (no-referrer), or another page's, refused.
    app = "http://localhost:3000"
    allowed(origins=(app,))
    s3 = clean_emulator.client("s3")
    s3.create_bucket(Bucket="uploads")
    s3.put_object(Bucket="uploads", Key="cat.png", Body=b"png")
    url = urlsplit(s3.generate_presigned_url("get_object", Params={"Bucket": "uploads",
                                                                   "Key": "cat.png"}))
    path = f"{url.path}?{url.query}"
    for mode in ("no-cors", "navigate"):
        for method in ("GET", "HEAD"):
            status, _, body = answer(clean_emulator, method, path, {
                "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": mode,
                "Referer": f"{app}/gallery?page=2"})
            assert status == 200 and body == (b"png" if method == "GET" else b""), (mode, method)
    for headers in ({}, {"Referer": "http://localhost:3001/"}, {"Referer": "https://localhost:3000/"},
                    {"Referer": "null"}):
        status, _, body = answer(clean_emulator, "GET", path, {
            "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors", **headers})
        assert refused(status, body), headers
    # a request that changes something is no <img>'s, Referer or not
    status, _, body = answer(clean_emulator, "DELETE", "/uploads/cat.png", {
        "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors", "Referer": f"{app}/",
        "Authorization": SIGNED.format("s3")})
    assert refused(status, body)
    # nor reaches a control endpoint
    status, _, body = answer(clean_emulator, "GET", "/_emulator/ui/api/summary", {
        "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors", "Referer": f"{app}/"})
    assert refused(status, body)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="uploads")["Contents"]] == ["cat.png"]


@pytest.mark.parametrize("variable, value", [("ECS_EMULATOR_ALLOWED_ORIGINS", "ftp://app.test"),
                                             ("ECS_EMULATOR_ALLOWED_HOSTS", "emulator:4566")])
def test_a_setting_in_error_ends_the_start_with_one_line(monkeypatch, capsys, variable, value):
    monkeypatch.setenv(variable, value)
    try:
        assert cli.main(["--port", "0", "--quiet"]) == 1
    finally:
        gc.unfreeze()
        gc.enable()
    said = capsys.readouterr().err
    assert said.startswith(f"ecs-emulator: {variable}: {value!r} is not ") and said.count("\n") == 1
