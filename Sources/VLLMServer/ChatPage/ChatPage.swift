import Hummingbird

/// The chat page `vllm serve` answers at `/`: one self-contained HTML document (styles and script inline, no CDN,
/// compiled into the binary) that talks to this server's OpenAI API: the model picker from `/v1/models`, answers
/// streamed token by token from `/v1/chat/completions`, a stop button that aborts the request (the server aborts it
/// in the engine when the connection closes), the conversation kept in the page, Markdown and code rendered, and the
/// API key asked for when the server has one (kept for the browser session only).
enum ChatPage {
    static func response() -> Response {
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                 body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static let html = """
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>swift-vllm chat</title>
    <style>\(style)</style>
    </head>
    <body>
    <header>
      <strong>swift-vllm</strong>
      <label>Model <select id="model"></select></label>
      <label>Temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value="0.7"></label>
      <label>Max tokens <input id="max-tokens" type="number" min="1" step="1" value="1024"></label>
      <button id="clear" type="button">New chat</button>
    </header>
    <main id="log" aria-live="polite"></main>
    <div id="status" role="status"></div>
    <form id="form">
      <textarea id="input" rows="3" placeholder="Message (Enter sends, Shift+Enter for a new line)"></textarea>
      <button id="send" type="submit">Send</button>
      <button id="stop" type="button" disabled>Stop</button>
    </form>
    <script>\(script)</script>
    </body>
    </html>
    """
}
