"""The chat page at `/`, in a real browser (Debian's chromium and chromedriver, driven by Selenium): the model picker
fills from /v1/models, answers stream in token by token, the conversation is kept and sent back each turn, the stop
button aborts the request in the engine, Markdown code renders, and the page asks for the API key on a keyed server.
A screenshot is saved to .build/test-artifacts/chat-page.png."""
import os
import time

import requests
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ROOT

ARTIFACTS = os.path.join(ROOT, ".build", "test-artifacts")


def browser():
    options = Options()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,800"):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def ask(driver, text):
    """Types a message, sends it, and returns the assistant message element (answer still streaming)."""
    before = len(driver.find_elements(By.CSS_SELECTOR, ".message.assistant"))
    box = driver.find_element(By.ID, "input")
    box.send_keys(text)
    driver.find_element(By.ID, "send").click()
    WebDriverWait(driver, 10).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".message.assistant")) == before + 1)
    return driver.find_elements(By.CSS_SELECTOR, ".message.assistant")[-1]


def idle(driver, timeout=120):
    WebDriverWait(driver, timeout).until(lambda d: d.find_element(By.ID, "send").is_enabled())


def running(url):
    for line in requests.get(url + "/metrics").text.splitlines():
        if line.startswith("vllm:num_requests_running"):
            return float(line.split()[-1])
    return 0


def test_chat_page_streams_keeps_the_conversation_and_stops(server):
    driver = browser()
    try:
        driver.get(server.url + "/")
        WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "model").get_attribute("value") == "smollm2")
        temperature = driver.find_element(By.ID, "temperature")
        temperature.clear()
        temperature.send_keys("0")
        limit = driver.find_element(By.ID, "max-tokens")
        limit.clear()
        limit.send_keys("48")
        # Count how often the answer's text changes while it streams.
        driver.execute_script("""
            window.updates = 0;
            new MutationObserver(() => window.updates++).observe(document.getElementById('log'),
                                                                 {childList: true, subtree: true, characterData: true});""")
        # A 48-token answer: an 8-token one streams in ~25 ms on a fast host, where the browser may read several
        # events at once and the count of renders says nothing.
        answer = ask(driver, "What is the capital of Germany? Tell me about the city.")
        idle(driver)
        assert "Berlin" in answer.find_element(By.CLASS_NAME, "content").text
        assert driver.execute_script("return window.updates") > 10, "the answer arrives token by token"
        assert "tokens in" in driver.find_element(By.ID, "status").text
        ask(driver, "What is 2 + 2?")
        idle(driver)
        assert driver.execute_script("return state.messages.length") == 4, "both turns go back to the server"
        assert len(driver.find_elements(By.CSS_SELECTOR, ".message.user")) == 2
        html = driver.execute_script("return markdown('Some `code`:\\n```python\\nprint(1 < 2)\\n```\\n- **a**\\n- b')")
        assert '<pre><code class="language-python">print(1 &lt; 2)</code></pre>' in html and "<li><strong>a</strong></li>" in html
        os.makedirs(ARTIFACTS, exist_ok=True)
        driver.save_screenshot(os.path.join(ARTIFACTS, "chat-page.png"))
        # Stop: a long answer is cut off, and the engine stops working on it.
        limit.clear()
        limit.send_keys("2000")
        long = ask(driver, "Write a very long story about a dragon, with many chapters.")
        WebDriverWait(driver, 30).until(lambda d: len(long.find_element(By.CLASS_NAME, "content").text) > 20)
        driver.find_element(By.ID, "stop").click()
        idle(driver, 10)
        assert "stopped" in long.get_attribute("class")
        deadline = time.monotonic() + 10
        while running(server.url) > 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert running(server.url) == 0, "the aborted request no longer runs"
    finally:
        driver.quit()


def test_chat_page_asks_for_the_api_key(keyed_server):
    driver = browser()
    try:
        driver.get(keyed_server.url + "/")
        WebDriverWait(driver, 20).until(expected_conditions.alert_is_present())
        alert = driver.switch_to.alert
        alert.send_keys("sk-test")
        alert.accept()
        WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "model").get_attribute("value") == "smollm2")
        answer = ask(driver, "Say hello.")
        idle(driver)
        assert answer.find_element(By.CLASS_NAME, "content").text
        assert "error" not in answer.get_attribute("class")
    finally:
        driver.quit()
