"""The policy studio in a real browser, against the real binary on loopback.

Drives headless Chromium over WebDriver through what a merchant does: type a
policy with a typo, see the squiggle and the did-you-mean, apply the fix,
format, judge an example, replay a generated and an uploaded stream, run the
suite, save with the token, switch to Chinese; then `rpl studio POLICY` in a
browser whose language is Chinese. Every number the page shows is held to
what the command line says about the same inputs (`rpl judge`, `rpl
backtest --json`, `rpl test`). Screenshots go to test/artifacts/.

Run by studio/test.sh, which installs what this needs and builds the binary.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(os.environ["RPL_ROOT"]).resolve()
BIN = os.environ["RPL_BIN"]
ARTIFACTS = Path(os.environ.get("STUDIO_ARTIFACTS", ROOT / "studio" / "test" / "artifacts"))
DOCS_SHOT = os.environ.get("STUDIO_DOCS_SCREENSHOT")
ADMIN = "studio-admin-token"

# Typed as a person types it, one line after another (the editor indents);
# `return.reasn` is the typo.
TYPED = """policy "Studio test returns" {
currency "CNY"
timezone "Asia/Shanghai"
default review "A person will look at this return"
}
let days_since_sign = if order.delivered_at is present then days_since(order.delivered_at) else 0
rule seven_day_no_reason {
when return.reasn == "changed_mind" and order.delivered_at is present and days_since_sign <= 7
approve
}
rule too_late {
when order.delivered_at is present and days_since_sign > 7
deny "More than 7 days since delivery"
}
"""

EXAMPLE = "examples/marketplace/day7_changed_mind_approved.json"
GEN = {"customers": 300, "days": 60, "seed": 3}


def rpl(*args, check=True):
    """Runs the binary; its standard output."""
    done = subprocess.run([BIN, *args], cwd=ROOT, capture_output=True, text=True)
    if check and done.returncode not in (0, 1):
        raise AssertionError(f"rpl {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


class Server:
    """A process of the binary that prints its address on the first line."""

    def __init__(self, args, env=None, prefix="rpl serve: listening on "):
        self.out = tempfile.NamedTemporaryFile("w+", delete=False, suffix=".out")
        self.err = tempfile.NamedTemporaryFile("w+", delete=False, suffix=".err")
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("RPL_")}
        full_env.update(env or {})
        self.proc = subprocess.Popen([BIN, *args], cwd=ROOT, stdout=self.out, stderr=self.err, env=full_env)
        started = time.time()
        while True:
            text = Path(self.out.name).read_text()
            if "\n" in text:
                line = text.splitlines()[0]
                assert line.startswith(prefix), f"unexpected first line: {line!r}"
                self.url = line[len(prefix):].strip()
                break
            if self.proc.poll() is not None:
                raise AssertionError(f"{args[0]} exited early: {Path(self.err.name).read_text()}")
            if time.time() - started > 30:
                raise AssertionError(f"{args[0]} did not say where it listens")
            time.sleep(0.05)

    def base(self):
        m = re.match(r"(http://[^/]+)/?", self.url)
        return m.group(1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.out, self.err):
            f.close()
            os.unlink(f.name)


def browser(lang):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1440,1100", f"--lang={lang}"):
        options.add_argument(a)
    options.add_experimental_option("prefs", {"intl.accept_languages": lang})
    service = DriverService(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_script_timeout(60)
    return driver


class Steps:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.driver = None
        self.shot = 0

    def screenshot(self, name):
        if self.driver is None:
            return
        self.shot += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(ARTIFACTS / f"{self.shot:02d}-{name}.png"))

    def run(self, name, f):
        print(f"-- {name}", flush=True)
        try:
            f()
        except Exception:
            self.failed += 1
            traceback.print_exc()
            self.screenshot(f"FAILED-{name}")
            if self.driver is not None:
                logs = ARTIFACTS / f"FAILED-{name}.html"
                logs.write_text(self.driver.page_source)
            raise
        self.passed += 1
        self.screenshot(name)


def wait(driver, what, timeout=20, message=""):
    try:
        # The page re-renders what it shows: an element found may be replaced before it is read.
        ignored = (NoSuchElementException, StaleElementReferenceException)
        return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=ignored).until(lambda d: what(d))
    except TimeoutException:
        raise AssertionError(f"timed out waiting: {message}") from None


def el(driver, css):
    return driver.find_element(By.CSS_SELECTOR, css)


def text_of(driver, css):
    return el(driver, css).text.strip()


def editor_text(driver, host="#policy-editor"):
    """The whole text of an editor (CodeMirror draws only the lines in view)."""
    return driver.execute_script("return document.querySelector(arguments[0] + ' .cm-content').cmTile.root.view.state.doc.toString()", host)


def number(s):
    return int(re.sub(r"[^\d]", "", s))


def checked(driver):
    """Waits until the editor's text is checked; the status element."""
    wait(driver, lambda d: el(d, "#check-status").get_attribute("data-errors") is not None
         and "status-busy" not in el(d, "#check-status").get_attribute("class"), message="the check")
    return el(driver, "#check-status")


def main():
    steps = Steps()
    data = Path(tempfile.mkdtemp(prefix="rpl-studio-test-"))
    work = Path(tempfile.mkdtemp(prefix="rpl-studio-work-"))
    server = Server(["serve", "--policy", "policies/marketplace.rpl", "--data", str(data / "store"), "--listen", "127.0.0.1:0"],
                    env={"RPL_ADMIN_TOKEN": ADMIN})
    studio = None
    try:
        d = steps.driver = browser("en-US")
        base = server.base()

        def opens():
            d.get(base + "/")
            wait(d, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"), message="the page to start")
            assert text_of(d, "header h1") == "Policy studio", text_of(d, "header h1")
            assert d.execute_script("return document.documentElement.lang") == "en"
            # Without the token the saved policy cannot be read: it starts from the shipped one.
            assert Select(el(d, "#policy-pick")).first_selected_option.get_attribute("value") == "policies/marketplace.rpl"
            wait(d, lambda d: "seven_day_no_reason" in editor_text(d), message="the shipped policy in the editor")
            checked(d)
            assert text_of(d, "#check-status") == "Checks clean", text_of(d, "#check-status")
            # Highlighting: keywords and strings are marked up by the rpl language.
            spans = d.execute_script(
                "return Array.from(document.querySelectorAll('#policy-editor .cm-line span')).map(s => s.className + '|' + s.textContent)")
            classes = {s.split("|")[0] for s in spans if s.split("|")[1] in ("policy", '"CNY"', "review")}
            assert len(classes) == 3 and all(c for c in classes), spans[:20]
            # Every asset came from the service itself.
            resources = d.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
            assert all(r.startswith(base) for r in resources), resources

        steps.run("opens", opens)

        def typo():
            content = el(d, "#policy-editor .cm-content")
            content.click()
            ActionChains(d).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(Keys.DELETE).perform()
            for line in TYPED.splitlines():
                content.send_keys(line)
                content.send_keys(Keys.ENTER)
                time.sleep(0.05)
            content.send_keys(Keys.ESCAPE)
            wait(d, lambda d: "Studio test returns" in editor_text(d) and "deny" in editor_text(d), message="the typed text")
            wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#policy-editor .cm-lintRange-error"), message="a squiggle")
            squiggle = el(d, "#policy-editor .cm-lintRange-error")
            assert squiggle.text == "reasn", squiggle.text
            status = checked(d)
            assert status.get_attribute("data-errors") == "1", status.text
            assert status.text == "1 error", status.text
            # The list below the editor: the checker's message, and its hint.
            problem = el(d, "#problems li.problem-error")
            assert "`return` has no field `reasn`" in problem.text, problem.text
            assert "did you mean `return.reason`?" in problem.text, problem.text
            assert problem.get_attribute("data-code") == "unknown-field"
            # On hover, the message and the hint.
            ActionChains(d).move_to_element(squiggle).perform()
            tip = wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, ".cm-tooltip-lint"), message="the hover tooltip")[0]
            assert "has no field `reasn`" in tip.text and "did you mean `return.reason`?" in tip.text, tip.text
            # A policy with errors cannot be saved, nor judged.
            assert not el(d, "#save").is_enabled()
            assert not el(d, "#try-judge").is_enabled()

        steps.run("typo-squiggle", typo)

        def fix():
            el(d, "#problems .problem-fix").click()
            wait(d, lambda d: "return.reason ==" in editor_text(d), message="the fix applied")
            status = checked(d)
            wait(d, lambda d: el(d, "#check-status").get_attribute("data-errors") == "0", message="no errors")
            assert not d.find_elements(By.CSS_SELECTOR, "#policy-editor .cm-lintRange-error")
            # Format: the layout `rpl fmt` gives the same text.
            typed = editor_text(d)
            el(d, "#policy-format").click()
            wait(d, lambda d: editor_text(d) != typed, message="the formatted text")
            formatted = subprocess.run([BIN, "fmt", "-"], input=typed, capture_output=True, text=True, check=True).stdout
            assert formatted != typed
            assert editor_text(d) == formatted, (editor_text(d), formatted)
            (work / "draft.rpl").write_text(formatted)
            checked(d)
            assert el(d, "#save").is_enabled()

        steps.run("fixed-and-formatted", fix)

        def judge():
            Select(el(d, "#try-example")).select_by_value(EXAMPLE)
            wait(d, lambda d: "R-20261110-000042" in editor_text(d, "#try-case"), message="the example case")
            assert el(d, "#try-reason").get_attribute("value") == "changed_mind"
            assert el(d, "#try-delivered").get_attribute("value") == "2026-11-03T15:20"
            wait(d, lambda d: el(d, "#try-judge").is_enabled(), message="Judge enabled")
            el(d, "#try-judge").click()
            wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#verdict-lines tbody tr"), message="the verdict table")
            cli = json.loads(rpl("judge", str(work / "draft.rpl"), EXAMPLE, "--compact"))
            assert cli["decision"] == "approve" and cli["refund"] == "199.00", cli
            assert el(d, "#verdict-decision .badge").get_attribute("data-decision") == "approve"
            assert text_of(d, "#verdict-refund") == "199.00 CNY"
            row = el(d, "#verdict-lines tbody tr[data-sku='TSHIRT-COTTON-WHT-M']")
            assert row.find_element(By.CSS_SELECTOR, ".line-decision .badge").get_attribute("data-decision") == "approve"
            assert row.find_element(By.CSS_SELECTOR, ".line-refund").text == "199.00"
            assert "seven_day_no_reason" in row.find_element(By.CSS_SELECTOR, ".line-rules").text
            explain = text_of(d, "#verdict-explain")
            assert "days_since_sign = 7 <= 7" in explain, explain
            # The form edits the case: asked two days later is day 9, too late.
            field = el(d, "#try-requested")
            d.execute_script("arguments[0].value = '2026-11-12T20:00'; arguments[0].dispatchEvent(new Event('change'))", field)
            wait(d, lambda d: "2026-11-12T20:00:00+08:00" in editor_text(d, "#try-case"), message="the form's edit")
            el(d, "#try-judge").click()
            wait(d, lambda d: el(d, "#verdict-decision .badge").get_attribute("data-decision") == "deny", message="deny on day 9")
            assert "days_since_sign = 9 > 7" in text_of(d, "#verdict-explain")
            assert "More than 7 days since delivery" in text_of(d, "#verdict-lines")
            Select(el(d, "#try-example")).select_by_value("")
            Select(el(d, "#try-example")).select_by_value(EXAMPLE)
            wait(d, lambda d: "2026-11-10T20:00" in editor_text(d, "#try-case"), message="the example again")
            el(d, "#try-judge").click()
            wait(d, lambda d: el(d, "#verdict-decision .badge").get_attribute("data-decision") == "approve", message="approve again")

        steps.run("judge", judge)

        def backtest(events):
            out = rpl("backtest", str(work / "draft.rpl"), str(events), "--compare", "policies/marketplace.rpl", "--json", "--skip-invalid")
            return json.loads(out)

        def replay_shows(expected):
            p = expected["policy"]
            wait(d, lambda d: el(d, "#replay-progress").get_attribute("data-state") == "done", timeout=120, message="the replay")
            assert number(text_of(d, "#replay-returns")) == expected["returns"]
            assert text_of(d, "#replay-refund-total") == f"{p['refund_total']} CNY"
            assert number(text_of(d, "#replay-invalid")) == len(expected["invalid"])
            for decision in ("approve", "review", "deny", "partial"):
                bar = el(d, f"#chart-decisions g[data-key='{decision}']")
                assert int(bar.get_attribute("data-value")) == p["decisions"].get(decision, 0), decision
            for payer, n in p["shipping"].items():
                assert int(el(d, f"#chart-shipping g[data-key='{payer}']").get_attribute("data-value")) == n, payer
            for r in p["rules"]:
                assert int(el(d, f"#chart-rules g[data-key='{r['name']}']").get_attribute("data-value")) == r["fired"]
            labels = p["labels"]
            assert text_of(d, "#chart-flags-labels").startswith(f"{labels['abuse']} labelled abuse")
            for s in labels["flags"]:
                row = el(d, f"#chart-flags-table tr[data-key='{s['name']}']")
                cells = [c.text for c in row.find_elements(By.CSS_SELECTOR, "td")]
                assert cells[1:] == [s["precision"] or "–", s["recall"] or "–", str(s["true_positives"]),
                                     str(s["false_positives"]), str(s["false_negatives"])], (cells, s)
            c = expected["compare"]
            assert text_of(d, "#replay-changed").startswith(f"{c['changed']} of {expected['returns']} returns")
            for m in c["moves"]:
                # rows: the saved version's decision (the compared one), columns: the draft's
                cell = el(d, f"#replay-matrix td[data-from='{m['to']}'][data-to='{m['from']}']")
                assert number(cell.text) == m["returns"], (m, cell.text)
            if c["first_changes"]:
                rows = d.find_elements(By.CSS_SELECTOR, "#replay-first-changes tbody tr")
                assert len(rows) == len(c["first_changes"])
                assert c["first_changes"][0]["return_id"] in rows[0].text
            assert d.find_elements(By.CSS_SELECTOR, "#chart-refund-compare g[data-key='saved']")

        def replay():
            el(d, "#tab-replay").click()
            for k, v in GEN.items():
                box = el(d, f"#replay-{k}")
                box.clear()
                box.send_keys(str(v))
            assert el(d, "#replay-compare").is_enabled() and el(d, "#replay-compare").is_selected()
            # Every text the progress line shows while it runs.
            d.execute_script("""
                window.progressSeen = [];
                new MutationObserver(() => window.progressSeen.push(document.getElementById('replay-progress-text').textContent))
                    .observe(document.getElementById('replay-progress-text'), {childList: true, characterData: true, subtree: true});""")
            el(d, "#replay-run").click()
            events = work / "events.jsonl"
            rpl("gen", "--customers", str(GEN["customers"]), "--days", str(GEN["days"]), "--seed", str(GEN["seed"]), "--out", str(events))
            expected = backtest(events)
            assert expected["compare"]["changed"] > 0, "the draft should change some returns"
            replay_shows(expected)
            seen = d.execute_script("return window.progressSeen")
            assert any(re.match(r"Replaying… [\d,]+ lines, [\d,]+ returns", x) for x in seen), seen
            assert seen[-1].startswith(f"Replayed {expected['lines']:,} lines"), seen
            steps.screenshot("replay-generated")
            if DOCS_SHOT:
                # Tall enough for the charts and the move matrix.
                d.set_window_size(1440, 1900)
                d.execute_script("window.scrollTo(0, 0)")
                d.save_screenshot(DOCS_SHOT)
                d.set_window_size(1440, 1100)
            # The same stream uploaded gives the same numbers.
            el(d, "#replay-up").click()
            el(d, "#replay-file").send_keys(str(events))
            el(d, "#replay-run").click()
            wait(d, lambda d: el(d, "#replay-progress").get_attribute("data-state") == "running"
                 or el(d, "#replay-progress").get_attribute("data-state") == "done", message="a new run")
            replay_shows(expected)
            # A broken line is named by its number.
            bad = work / "bad.jsonl"
            lines = events.read_text().splitlines()
            lines[4] = '{"event": "order", "id": 5}'
            bad.write_text("\n".join(lines) + "\n")
            el(d, "#replay-skip").click()
            el(d, "#replay-file").send_keys(str(bad))
            el(d, "#replay-run").click()
            wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#replay-error"), message="the bad line")
            assert "line 5" in text_of(d, "#replay-error"), text_of(d, "#replay-error")
            el(d, "#replay-skip").click()
            el(d, "#replay-gen").click()

        steps.run("replay", replay)

        def tests():
            el(d, "#tab-tests").click()
            wait(d, lambda d: "marketplace.rpl" in editor_text(d, "#tests-suite"), message="the shipped suite")
            el(d, "#tests-run").click()
            wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#tests-summary"), message="the suite's result")
            # `rpl test` on the same suite with the draft in the policy's place.
            copy = work / "suite"
            (copy / "policies").mkdir(parents=True)
            (copy / "examples").symlink_to(ROOT / "examples")
            shutil.copy(work / "draft.rpl", copy / "policies" / "marketplace.rpl")
            shutil.copy(ROOT / "policies" / "marketplace.test.toml", copy / "policies")
            shutil.copytree(ROOT / "policies" / "marketplace.test.toml.snap", copy / "policies" / "marketplace.test.toml.snap")
            out = rpl("test", str(copy / "policies" / "marketplace.test.toml"))
            passed, failed = map(int, re.search(r"(\d+) passed, (\d+) failed", out).groups())
            summary = el(d, "#tests-summary")
            assert (int(summary.get_attribute("data-passed")), int(summary.get_attribute("data-failed"))) == (passed, failed), out
            assert failed > 0
            failures = d.find_elements(By.CSS_SELECTOR, ".test-failure")
            assert len(failures) == failed
            first = failures[0]
            assert first.get_attribute("data-case") in out
            cells = first.find_elements(By.CSS_SELECTOR, "td.expected, td.actual, pre.expected, pre.actual")
            assert len(cells) >= 2, first.text

        steps.run("tests-fail", tests)

        def save():
            el(d, "#token").send_keys(ADMIN + "\n")
            wait(d, lambda d: "Changed since the saved version 1" in text_of(d, "#save-status"), message="the saved version read")
            el(d, "#save").click()
            wait(d, lambda d: "Saved as version 2" in text_of(d, "#save-status"), message="saved")
            req = urllib.request.Request(base + "/v1/policy", headers={"Authorization": f"Bearer {ADMIN}"})
            stored = json.load(urllib.request.urlopen(req))
            assert stored["version"] == 2 and stored["source"] == (work / "draft.rpl").read_text(), stored
            # Against the version now saved, nothing changes.
            el(d, "#tab-replay").click()
            el(d, "#replay-run").click()
            wait(d, lambda d: el(d, "#replay-progress").get_attribute("data-state") == "done", timeout=120, message="replay")
            wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#replay-changed"), message="the comparison")
            assert text_of(d, "#replay-changed").startswith("0 of"), text_of(d, "#replay-changed")

        steps.run("saved", save)

        def shipped_suite_passes():
            select = Select(el(d, "#policy-pick"))
            select.select_by_value("policies/marketplace.rpl")
            try:
                d.switch_to.alert.accept()
            except Exception:
                pass
            wait(d, lambda d: "seven_day_no_reason" in editor_text(d) and "Studio test" not in editor_text(d), message="shipped again")
            checked(d)
            el(d, "#tab-tests").click()
            el(d, "#tests-run").click()
            out = rpl("test", "policies/marketplace.test.toml")
            passed, failed = map(int, re.search(r"(\d+) passed, (\d+) failed", out).groups())
            wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#tests-summary")
                 and el(d, "#tests-summary").get_attribute("data-failed") == "0", message="all pass")
            assert int(el(d, "#tests-summary").get_attribute("data-passed")) == passed and failed == 0

        steps.run("shipped-suite-passes", shipped_suite_passes)

        def chinese():
            el(d, "#tab-try").click()
            el(d, "#try-judge").click()
            wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#verdict-lines"), message="a verdict")
            assert text_of(d, "#tab-try") == "Try a case"
            el(d, "#lang").click()
            wait(d, lambda d: text_of(d, "#tab-try") == "试算案例", message="Chinese labels")
            assert text_of(d, "header h1") == "退货政策工作台"
            assert text_of(d, "#save") == "保存"
            assert text_of(d, "#tab-replay") == "回放历史"
            heads = [th.text for th in d.find_elements(By.CSS_SELECTOR, "#verdict-lines thead th")]
            assert "处理结果" in heads and "退款" in heads, heads
            assert el(d, "#verdict-decision .badge").text == "同意"
            assert d.execute_script("return document.documentElement.lang") == "zh-CN"
            # Every label has its string (a missing one would show its key).
            keys = d.execute_script(
                "return Array.from(document.querySelectorAll('[data-i18n]')).filter(e => e.textContent === e.dataset.i18n).map(e => e.dataset.i18n)")
            assert keys == [], keys
            # No English label is left on the page's own controls.
            for css in ("#policy-format", "#policy-download", "#try-judge", "#tests-run", "#replay-run"):
                assert not re.search(r"[A-Za-z]{3,}", el(d, css).get_attribute("textContent")), css
            # The choice is kept.
            d.refresh()
            wait(d, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"), message="reload")
            assert text_of(d, "#tab-try") == "试算案例"
            el(d, "#lang").click()
            wait(d, lambda d: text_of(d, "#tab-try") == "Try a case", message="English again")

        steps.run("chinese", chinese)
        d.quit()
        steps.driver = None
        server.stop()
        server = None

        def rpl_studio():
            nonlocal studio
            studio = Server(["studio", "policies/fashion.rpl"], prefix="rpl studio: open ")
            assert "#token=" in studio.url, studio.url
            d = steps.driver = browser("zh-CN")
            d.get(studio.url)
            wait(d, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"), message="the studio")
            # The browser's language is Chinese: so is the page.
            assert text_of(d, "header h1") == "退货政策工作台"
            # The token came in the address: the saved policy is read and is where it starts.
            assert Select(el(d, "#policy-pick")).first_selected_option.get_attribute("value") == "saved"
            assert "#token" not in d.current_url
            wait(d, lambda d: "final_sale" in editor_text(d), message="fashion.rpl in the editor")
            assert editor_text(d) == (ROOT / "policies" / "fashion.rpl").read_text()
            assert "第 1 版" in text_of(d, "#save-status")
            # Its examples are the fashion ones.
            options = [o.get_attribute("value") for o in Select(el(d, "#try-example")).options]
            assert "examples/fashion/final_sale_denied.json" in options, options
            # The floor a shipped shop stands on is shown with it.
            Select(el(d, "#policy-pick")).select_by_value("policies/shops/linen_house.rpl")
            wait(d, lambda d: el(d, "#floor").is_displayed(), message="the floor")
            assert "policies/platform_floor.rpl" in text_of(d, "#floor")
            Select(el(d, "#try-example")).select_by_value("policies/shops/cases/linen_day5_final_sale_size.json")
            wait(d, lambda d: el(d, "#try-judge").is_enabled(), message="judge")
            el(d, "#try-judge").click()
            wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#verdict-lines"), message="a verdict on the floor")
            cli = json.loads(rpl("judge", "--floor", "policies/platform_floor.rpl", "policies/shops/linen_house.rpl",
                                 "policies/shops/cases/linen_day5_final_sale_size.json", "--compact"))
            assert el(d, "#verdict-decision .badge").get_attribute("data-decision") == cli["decision"]
            assert text_of(d, "#verdict-refund") == f"{cli['refund']} CNY"
            assert "底线" in text_of(d, "#verdict-lines")

        steps.run("rpl-studio", rpl_studio)
    finally:
        if steps.driver is not None:
            steps.driver.quit()
        if server is not None:
            server.stop()
        if studio is not None:
            studio.stop()
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        print(f"studio: {steps.passed} passed, {steps.failed} failed", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        sys.exit(1)
