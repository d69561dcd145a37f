"""The playground in a real browser: headless Debian chromium, driven by Playwright, with the real bot in it.

One playground (`python -m discord_twin.playground -- python -m bot`) serves the whole module, on a copy of
the session's trained store. Skipped, with one line, when chromium is not installed (`make test` installs it
when it runs as root).
"""

from __future__ import annotations

import contextlib
import gzip
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from samples import pictures as styles
from tests.fixtures.bot import TINY_TRAIN_LIMIT, png
from tests.fixtures.mnist import REPO, verified_mnist_dir

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REBIND_HOST = "rebind.test"  # a name the browser resolves to 127.0.0.1, as a DNS rebinding attacker's would
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 f"--host-resolver-rules=MAP {REBIND_HOST} 127.0.0.1"]
WAIT_MS = 20_000  # any one answer of the bot; most take milliseconds
RETRAIN_MS = 180_000  # a 1-epoch retrain on 2,000 images, TensorFlow's import included, on a busy machine

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (as root: apt-get install chromium)"),
    pytest.mark.timeout(300),
]

if CHROMIUM is not None:
    from playwright.sync_api import Browser, Page, expect, sync_playwright


# -- MNIST test digits ------------------------------------------------------------------------------

def mnist_test_images(count: int) -> tuple[np.ndarray, np.ndarray]:
    directory = verified_mnist_dir()
    with gzip.open(directory / "t10k-images-idx3-ubyte.gz") as stream:
        images = np.frombuffer(stream.read(16 + count * 784)[16:], np.uint8).reshape(count, 28, 28)
    with gzip.open(directory / "t10k-labels-idx1-ubyte.gz") as stream:
        labels = np.frombuffer(stream.read(8 + count)[8:], np.uint8)
    return images, labels


def first_index_of(labels: np.ndarray, digit: int) -> int:
    return int(np.flatnonzero(labels == digit)[0])


def strokes_of_seven(image: np.ndarray) -> list[list[tuple[float, float]]]:
    """Pen strokes along an MNIST 7, in its 28×28 coordinates: the top bar left to right, then down the stem.

    The bar follows the first rows with ink from their leftmost to their rightmost inked column; the stem
    follows, row by row below it, the middle of the rightmost run of ink.
    """
    ink = image > 128
    rows = [y for y in range(28) if ink[y].any()]
    top = rows[0]
    bar_rows = [y for y in rows if y <= top + 2]
    bar_y = float(np.mean(bar_rows))
    left = min(int(np.flatnonzero(ink[y])[0]) for y in bar_rows)
    right = max(int(np.flatnonzero(ink[y])[-1]) for y in bar_rows)
    stem: list[tuple[float, float]] = [(float(right), bar_y)]
    for y in rows:
        if y <= top + 2:
            continue
        columns = np.flatnonzero(ink[y])
        run_end = columns[-1]
        run = [c for c in columns if run_end - c <= 3]
        stem.append((float(np.mean(run)), float(y)))
    return [[(float(left), bar_y), (float(right), bar_y), *stem[1:]]]


# -- the playground and the browser -------------------------------------------------------------------

@pytest.fixture(scope="module")
def playground(trained_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The playground with the real bot, on a private copy of the trained store; yields its address."""
    work = tmp_path_factory.mktemp("playground")
    store = work / "models"
    shutil.copytree(trained_store, store)
    base = {key: value for key, value in os.environ.items() if not key.startswith(("DISCORD_", "BOT_", "PLAYGROUND_"))}
    env = {**base, "PYTHONPATH": str(REPO), "MODEL_STORE": str(store), "MNIST_DIR": str(verified_mnist_dir()),
           "BOT_RETRAIN_TRAIN_LIMIT": str(TINY_TRAIN_LIMIT), "BOT_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    log = (work / "playground.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "discord_twin.playground", "--port", "0", "--", sys.executable, "-m", "bot"],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once the bot is connected
        found = re.search(r"open (http://\S+)", line)
        assert found and "the bot is in #digits" in line, f"{line!r}\n{(work / 'playground.log').read_text()}"
        yield found.group(1)
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
    assert process.returncode == 0, (work / "playground.log").read_text()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def csp_violations() -> list[str]:
    """What the page's Content-Security-Policy refused, as the page's `securitypolicyviolation` events say."""
    return []


@pytest.fixture
def page(browser: Browser, playground: str, csp_violations: list[str]) -> Iterator[Page]:
    """The playground's page, live, with the bot online. Every test runs it under its strict CSP: the test
    fails if the page tried anything the policy refuses (an inline style, a script or picture from elsewhere)."""
    with open_page(browser, playground, csp_violations) as page:
        yield page


@contextlib.contextmanager
def open_page(browser: Browser, url: str, csp_violations: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.expose_function("reportCspViolation", lambda violation: csp_violations.append(violation))
    context.add_init_script("""document.addEventListener("securitypolicyviolation",
        (event) => window.reportCspViolation(`${event.effectiveDirective} ${event.blockedURI}`));""")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(url)
        expect(page.locator("#connection")).to_have_text("live")
        expect(page.locator(".member .role").first).to_have_text("BOT · online")
        yield page
    finally:
        context.close()
    assert not errors, errors
    assert not csp_violations, csp_violations


def as_identity(page: Page, identity: str) -> None:
    page.select_option("#identity", identity)
    expect(page.locator("#me-name")).to_have_text("alice" if identity == "admin" else "bob")


def send_text(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def bot_answer(page: Page, text: str | re.Pattern[str]) -> "Page":
    answer = page.locator(".message[data-author=bot]").filter(has_text=text).last
    expect(answer).to_be_visible(timeout=WAIT_MS)
    return answer  # type: ignore[return-value]


def image_loaded(locator: object) -> None:
    expect(locator).to_have_js_property("complete", True)  # type: ignore[arg-type]
    assert locator.evaluate("img => img.naturalWidth") > 0  # type: ignore[attr-defined]


# -- the tests ---------------------------------------------------------------------------------------

def test_draw_a_seven_and_get_the_answer(page: Page) -> None:
    images, labels = mnist_test_images(100)
    seven = images[first_index_of(labels, 7)]
    as_identity(page, "admin")
    page.click("#draw")
    pad = page.locator("#pad")
    expect(pad).to_be_visible()
    box = pad.bounding_box()
    assert box is not None
    scale = box["width"] / 28
    for stroke in strokes_of_seven(seven):
        points = [(box["x"] + (x + 0.5) * scale, box["y"] + (y + 0.5) * scale) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=4)
        page.mouse.up()
    page.click("#pad-send")
    answer = bot_answer(page, "drawing.png: it's a 7")
    expect(answer.locator(".reply-line")).to_contain_text("alice")
    expect(answer.locator(".embed pre")).to_contain_text("7 ")  # the chart of the ten probabilities
    image_loaded(answer.locator(".embed-image img"))  # the 28×28 picture the model saw
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground.png"))


def test_attach_drop_and_paste_a_file(page: Page) -> None:
    images, labels = mnist_test_images(100)
    two, one, zero = (images[first_index_of(labels, digit)] for digit in (2, 1, 0))
    as_identity(page, "member")
    page.set_input_files("#file-input", files=[{"name": "two.png", "mimeType": "image/png", "buffer": png(two)}])
    expect(page.locator("#pending .chip")).to_have_count(1)
    page.press("#text", "Enter")
    bot_answer(page, "two.png: it's a 2")

    page.focus("#text")
    page.evaluate("""bytes => {
        const data = new DataTransfer();
        data.items.add(new File([new Uint8Array(bytes)], "pasted.png", { type: "image/png" }));
        document.getElementById("text").dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
    }""", list(png(one)))
    expect(page.locator("#pending .chip")).to_have_count(1)
    page.press("#text", "Enter")
    bot_answer(page, "pasted.png: it's a 1")

    page.evaluate("""bytes => {
        const data = new DataTransfer();
        data.items.add(new File([new Uint8Array(bytes)], "dropped.png", { type: "image/png" }));
        for (const type of ["dragenter", "dragover", "drop"]) {
            document.getElementById("messages").dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
        }
    }""", list(png(zero)))
    expect(page.locator("#pending .chip")).to_have_count(1)
    expect(page.locator("#drop-overlay")).to_be_hidden()
    page.press("#text", "Enter")
    bot_answer(page, "dropped.png: it's a 0")


def test_a_number_is_answered_with_a_row_per_digit_and_the_strip(page: Page) -> None:
    images, _ = mnist_test_images(100)
    picture = styles.number_drawing([images[i] for i in (0, 1, 2, 3)], np.random.default_rng(5))
    as_identity(page, "member")
    page.set_input_files("#file-input", files=[{"name": "year.png", "mimeType": "image/png", "buffer": picture}])
    page.press("#text", "Enter")
    answer = bot_answer(page, re.compile(r"year\.png: it's \d{4}"))
    number = re.search(r"it's (\d{4})", answer.inner_text())
    assert number is not None
    rows = answer.locator(".embed pre").inner_text().strip().splitlines()
    assert [row.split()[0] for row in rows] == list(number.group(1))  # one row per digit, in order
    strip = answer.locator(".embed-image img")
    image_loaded(strip)
    assert strip.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [(4 * 30 - 2) * 4, 28 * 4]
    page.mouse.move(0, 0)
    ARTIFACTS.mkdir(exist_ok=True)
    answer.screenshot(path=str(ARTIFACTS / "playground-number.png"))


def test_accuracy_shows_the_confusion_matrix_and_the_reliability_diagram(page: Page) -> None:
    send_text(page, "!accuracy")
    answer = bot_answer(page, re.compile(r"Model version \d+: [\d.]+% accuracy"))
    pictures = answer.locator(".embed-image img")
    expect(pictures).to_have_count(2, timeout=WAIT_MS)  # the confusion matrix and the reliability diagram
    for index in range(2):
        image_loaded(pictures.nth(index))
    # The paths only: attachment URLs carry their CDN signature (?ex=...&is=...&hm=...) after them.
    sources = [pictures.nth(index).evaluate("img => new URL(img.src).pathname") for index in range(2)]
    assert sources[0].endswith("/confusion.png") and sources[1].endswith("/reliability.png")


def test_slash_digit_with_an_image(page: Page) -> None:
    images, labels = mnist_test_images(100)
    zero = images[first_index_of(labels, 0)]
    page.type("#text", "/")
    menu = page.locator("#slash-menu")
    for listed in ("/accuracy", "/digit", "/model", "/retrain start", "/retrain cancel", "/rollback"):
        expect(menu).to_contain_text(listed)  # what the bot registered, subcommands too
    page.type("#text", "dig")
    expect(page.locator(".slash-item")).to_have_count(1)
    expect(page.locator(".slash-item")).to_contain_text("/digit")
    page.press("#text", "Enter")
    option = page.locator("#command-form input[name=image]")
    expect(option).to_have_attribute("type", "file")
    option.set_input_files(files=[{"name": "zero.png", "mimeType": "image/png", "buffer": png(zero)}])
    page.press("#text", "Enter")
    answer = bot_answer(page, "zero.png: it's a 0")
    expect(answer.locator(".reply-line")).to_contain_text("used /digit")
    expect(page.locator(".thinking")).to_have_count(0)  # the deferred placeholder gave way to the answer


def test_recognize_digit_from_the_message_menu(page: Page) -> None:
    images, labels = mnist_test_images(100)
    four = images[first_index_of(labels, 4)]
    as_identity(page, "member")
    send_text(page, "no image in this one")
    page.set_input_files("#file-input", files=[{"name": "four.png", "mimeType": "image/png", "buffer": png(four)}])
    page.press("#text", "Enter")
    bot_answer(page, "four.png: it's a 4")
    posted = page.locator(".message[data-author=bob]").filter(has=page.locator(".attachments img")).last
    posted.hover()
    posted.locator(".toolbar .apps").click()
    page.locator(".apps-menu button", has_text="Recognize digit").click()
    answer = page.locator(".message[data-author=bot]").filter(has_text="used Recognize digit").filter(
        has_text="four.png: it's a 4")
    expect(answer).to_have_count(1, timeout=WAIT_MS)


def test_retrain_progress_edits_one_message_and_members_are_refused(page: Page) -> None:
    as_identity(page, "member")
    send_text(page, "!retrain")
    bot_answer(page, "Only the bot's admins can do that.")

    as_identity(page, "admin")
    send_text(page, "!retrain epochs=1")
    status = bot_answer(page, "Retraining, requested by alice")
    status_id = status.get_attribute("data-id")
    seen: list[str] = []
    deadline = time.monotonic() + RETRAIN_MS / 1000
    live = page.locator(f'.message[data-id="{status_id}"]')
    while time.monotonic() < deadline:
        text = live.inner_text()
        if not seen or seen[-1] != text:
            seen.append(text)
        if "Retrained" in text:
            break
        page.wait_for_timeout(100)
    assert "Retrained" in seen[-1], seen
    assert any("Epoch" in text for text in seen), seen  # progress was shown in place before the outcome
    expect(live).to_have_count(1)
    expect(live.locator(".edited")).to_be_visible()


def test_html_in_a_message_renders_as_text(page: Page) -> None:
    hostile = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script><b>bold?</b> **bold**'
    send_text(page, hostile)
    mine = page.locator(".message .content").filter(has_text="<script>").last
    expect(mine).to_contain_text('<img src=x onerror="window.pwned=1"><script>window.pwned=2</script><b>bold?</b>')
    assert mine.locator("img, script, b").count() == 0
    expect(mine.locator("strong")).to_have_text("bold")  # Discord's own markdown still works
    assert page.evaluate("window.pwned") is None


def test_correct_an_answer_in_one_click(page: Page) -> None:
    images, labels = mnist_test_images(100)
    three = images[first_index_of(labels, 3)]
    as_identity(page, "member")
    page.set_input_files("#file-input", files=[{"name": "three.png", "mimeType": "image/png", "buffer": png(three)}])
    page.press("#text", "Enter")
    # The suite's small model may be unsure of it ("probably a 3, maybe a 2"): the flow is the same.
    answer = bot_answer(page, re.compile(r"three\.png: (it's|probably) a 3"))
    wrong = answer.locator(".component-button", has_text="Wrong?")
    expect(wrong).to_have_class(re.compile("secondary"))
    wrong.click()
    asked = page.locator(".message.ephemeral").filter(has_text="What is it really? I read 3.")
    expect(asked).to_be_visible(timeout=WAIT_MS)
    expect(asked.locator(".reply-line")).to_contain_text(re.compile(r"three\.png: (it's|probably) a 3"))  # it answers a click on the answer
    choice = page.locator(f'.message[data-id="{asked.get_attribute("data-id")}"]')
    expect(choice.locator(".only-you")).to_be_visible()
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground-correction.png"))  # docs/playground-correction.png
    choice.locator("select.component-select").select_option("8")
    expect(choice).to_contain_text("Thanks, noted as 8.", timeout=WAIT_MS)  # the same private message, edited
    expect(choice.locator(".components")).to_have_count(0)

    as_identity(page, "admin")  # alice does not see bob's private messages; she sees the vote in !corrections
    expect(page.locator(".message.ephemeral")).to_have_count(0)
    send_text(page, "!corrections")
    summary = bot_answer(page, "Community corrections")
    expect(summary).to_contain_text("1 vote from 1 member;")
    image_loaded(summary.locator(".embed-image img"))


# -- another site in the same browser ----------------------------------------------------------------------

@contextlib.contextmanager
def another_site(html: str) -> Iterator[str]:
    """A page served from another origin (another port of 127.0.0.1), as an attacker's page would be."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


ATTACKS = """<!doctype html><title>another site</title>
<form id="urlencoded" method="post" action="{api}/messages" target="sink1">
  <input name="user" value="admin"><input name="content" value="!rollback (attack: a form)"></form>
<form id="multipart" method="post" enctype="multipart/form-data" action="{api}/messages" target="sink2">
  <input name="user" value="admin"><input name="content" value="!rollback (attack: a multipart form)"></form>
<form id="plain" method="post" enctype="text/plain" action="{api}/reactions" target="sink3">
  <input name='{{"user": "admin", "message_id": "{message_id}", "emoji": "💀", "x": "' value='"}}'></form>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe><iframe name="sink3"></iframe>
<script>
window.attack = async () => {{
  for (const form of document.forms) form.submit();
  const form = new FormData();
  form.append("user", "admin"); form.append("name", "rollback");
  await fetch("{api}/interactions", {{ method: "POST", mode: "no-cors", body: form }}).catch(() => null);
  await fetch("{api}/reactions", {{ method: "POST", mode: "no-cors", headers: {{ "Content-Type": "text/plain" }},
    body: JSON.stringify({{ user: "admin", message_id: "{message_id}", emoji: "💀" }}) }}).catch(() => null);
}};
</script>"""
UPLOADED_PAGE = b"""<!doctype html><script>
const form = new FormData(); form.append("user", "admin"); form.append("content", "!rollback (attack: an uploaded page)");
fetch("/playground/api/messages", { method: "POST", body: form });
</script>"""


def test_a_page_of_another_origin_cannot_drive_the_playground(
    browser: Browser, playground: str, csp_violations: list[str]
) -> None:
    """Issue 25's attack: a page in the same browser posts !rollback as the admin (forms, fetch with text/plain),
    opens an uploaded .html in the playground's origin, or reaches it by a rebound name; all refused, while the
    playground's own page (here at localhost: the address is not the point) posts a picture and gets its answer."""
    port = int(playground.rsplit(":", 1)[1])
    images, labels = mnist_test_images(100)
    six = images[first_index_of(labels, 6)]
    with open_page(browser, f"http://localhost:{port}", csp_violations) as own:  # fails on errors, CSP violations
        as_identity(own, "member")
        own.set_input_files("#file-input",
                            files=[{"name": "page.html", "mimeType": "text/html", "buffer": UPLOADED_PAGE}])
        own.press("#text", "Enter")
        upload = own.locator(".attachments a.file", has_text="page.html")
        expect(upload).to_be_visible()
        target = own.locator(".message").filter(has=upload).get_attribute("data-id")
        uploaded_url = f"http://127.0.0.1:{port}{upload.get_attribute('href')}"

        # The page's CSP is in force, and the fixture hears what it refuses: an inline style, a picture from elsewhere.
        own.evaluate("""() => { document.body.setAttribute("style", "outline: 1px solid red");
                                document.body.append(Object.assign(new Image(), { src: "http://127.0.0.2:9/x.png" })); }""")
        deadline = time.monotonic() + WAIT_MS / 1000
        while len(csp_violations) < 2 and time.monotonic() < deadline:
            own.wait_for_timeout(50)
        assert sorted(v.split()[0] for v in csp_violations) == ["img-src", "style-src-attr"], csp_violations
        assert own.evaluate("() => document.body.style.outlineStyle") == ""
        own.evaluate("() => { document.body.removeAttribute('style'); document.body.lastElementChild.remove(); }")
        csp_violations.clear()

        context = browser.new_context()
        attacker = context.new_page()
        answered: list[tuple[str, str, int]] = []
        attacker.on("response", lambda r: answered.append((r.request.method, r.url, r.status))
                    if r.url.startswith(f"http://127.0.0.1:{port}/") else None)
        with another_site(ATTACKS.format(api=f"http://127.0.0.1:{port}/playground/api", message_id=target)) as site:
            attacker.goto(site)
            attacker.evaluate("attack()")
            deadline = time.monotonic() + WAIT_MS / 1000
            while len(answered) < 5 and time.monotonic() < deadline:
                attacker.wait_for_timeout(50)
            assert sorted(answered) == sorted([("POST", f"http://127.0.0.1:{port}/playground/api/{path}", 403)
                                               for path in ("messages", "messages", "reactions", "interactions",
                                                            "reactions")]), answered
            # The uploaded page, opened from the other site: a download, never a page of the playground's origin.
            with attacker.expect_download(timeout=5000) as download:
                attacker.evaluate("url => { location.href = url; }", uploaded_url)
            assert download.value.suggested_filename == "page.html"
            assert attacker.url == site
        # DNS rebinding: the attacker's name now leads to 127.0.0.1; the playground does not answer to it.
        rebound = attacker.goto(f"http://{REBIND_HOST}:{port}/")
        assert rebound is not None and rebound.status == 403
        rebound = attacker.goto(f"http://{REBIND_HOST}:{port}/playground/api/messages")
        assert rebound is not None and rebound.status == 403 and "not this playground's" in attacker.content()
        context.close()

        # The playground's own page still works, and nothing of the attacks reached the channel.
        own.set_input_files("#file-input", files=[{"name": "six.png", "mimeType": "image/png", "buffer": png(six)}])
        own.press("#text", "Enter")
        bot_answer(own, "six.png: it's a 6")
        messages = own.evaluate("() => fetch('/playground/api/messages?limit=1000').then((r) => r.json())")
        assert not [m["content"] for m in messages if "attack" in m["content"]]
        assert not [m for m in messages if m["id"] == target and m.get("reactions")]
        assert not [m for m in messages if (m.get("interaction") or {}).get("name") == "rollback"]
