extension ChatPage {
    /// The page's CSS: a header, the conversation, and the input form fixed at the bottom.
    static let style = """
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.5 system-ui, sans-serif; display: flex; flex-direction: column; height: 100vh;
           color: #1d1d1f; background: #f5f5f7; }
    header { display: flex; gap: 1em; align-items: center; padding: .6em 1em; background: #fff; border-bottom: 1px solid #ddd; }
    header strong { flex: 1; }
    #log { flex: 1; overflow-y: auto; padding: 1em; }
    .message { max-width: 52em; margin: 0 auto .8em; padding: .6em .9em; border-radius: .6em; background: #fff;
               border: 1px solid #e2e2e2; overflow-wrap: anywhere; }
    .message.user { background: #e8f0fe; border-color: #c9dafc; }
    .message .role { font-size: 12px; color: #666; margin-bottom: .2em; }
    .message.stopped .role::after { content: " (stopped)"; }
    .message.error { background: #fdecea; border-color: #f5c2bd; }
    pre { background: #1e1e1e; color: #f1f1f1; padding: .7em; border-radius: .4em; overflow-x: auto; }
    code { font-family: ui-monospace, Menlo, monospace; font-size: 13px; }
    :not(pre) > code { background: #eee; padding: 0 .25em; border-radius: .25em; }
    #status { text-align: center; font-size: 12px; color: #666; min-height: 1.2em; }
    form { display: flex; gap: .5em; padding: .6em 1em 1em; max-width: 54em; width: 100%; margin: 0 auto; }
    textarea { flex: 1; font: inherit; padding: .5em; border-radius: .4em; border: 1px solid #ccc; resize: vertical; }
    input[type=number] { width: 4.5em; font: inherit; }
    button { font: inherit; padding: .4em .9em; border-radius: .4em; border: 1px solid #bbb; background: #fff; cursor: pointer; }
    button:disabled { opacity: .5; cursor: default; }
    """
}
