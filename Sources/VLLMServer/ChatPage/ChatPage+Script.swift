extension ChatPage {
    /// The page's script: OpenAI API calls with the key when one is needed, the SSE stream read chunk by chunk, and a
    /// small Markdown renderer (fenced code, inline code, bold, italics, headings, lists, links) over escaped text.
    static let script = #"""
    const $ = id => document.getElementById(id);
    const state = { messages: [], controller: null, key: sessionStorage.getItem('vllm-api-key') || '' };

    function headers() {
      const h = { 'Content-Type': 'application/json' };
      if (state.key) h.Authorization = 'Bearer ' + state.key;
      return h;
    }

    // A request; a 401 asks for the API key (kept for this browser session) and tries again.
    async function api(path, init = {}) {
      for (;;) {
        const response = await fetch(path, { ...init, headers: headers() });
        if (response.status !== 401) return response;
        const key = prompt('This server needs an API key:');
        if (key === null) throw new Error('An API key is needed.');
        state.key = key.trim();
        sessionStorage.setItem('vllm-api-key', state.key);
      }
    }

    async function loadModels() {
      try {
        const response = await api('/v1/models');
        const list = await response.json();
        $('model').innerHTML = '';
        for (const model of list.data) {
          const option = document.createElement('option');
          option.value = option.textContent = model.id;
          $('model').appendChild(option);
        }
        status('');
      } catch (e) {
        status('Cannot list the models: ' + e.message);
      }
    }

    function escapeHTML(s) {
      return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
    }

    // Inline Markdown over already escaped text.
    function inline(s) {
      return s.replace(/`([^`]+)`/g, '<code>$1</code>')
        .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
        .replace(/(^|[^*\w])\*([^*\s][^*]*)\*/g, '$1<em>$2</em>')
        .replace(/\[([^\]]+)\]\((https?:[^)\s]+)\)/g, '<a href="$2" target="_blank" rel="noopener">$1</a>');
    }

    function markdown(text) {
      const out = [], lines = text.split('\n');
      let i = 0, list = null;
      const closeList = () => { if (list) { out.push('</' + list + '>'); list = null; } };
      const block = /^(```|#{1,6}\s|\s*([-*+]|\d+\.)\s)/;
      while (i < lines.length) {
        const line = lines[i];
        const fence = line.match(/^```\s*([\w+-]*)/);
        if (fence) {
          closeList();
          const code = [];
          for (i++; i < lines.length && !lines[i].startsWith('```'); i++) code.push(lines[i]);
          i++;
          const language = fence[1] ? ' class="language-' + escapeHTML(fence[1]) + '"' : '';
          out.push('<pre><code' + language + '>' + escapeHTML(code.join('\n')) + '</code></pre>');
          continue;
        }
        const heading = line.match(/^(#{1,6})\s+(.*)/);
        if (heading) {
          closeList();
          const n = heading[1].length;
          out.push('<h' + n + '>' + inline(escapeHTML(heading[2])) + '</h' + n + '>');
          i++;
          continue;
        }
        const item = line.match(/^\s*([-*+]|\d+\.)\s+(.*)/);
        if (item) {
          const kind = /\d/.test(item[1]) ? 'ol' : 'ul';
          if (list !== kind) { closeList(); out.push('<' + kind + '>'); list = kind; }
          out.push('<li>' + inline(escapeHTML(item[2])) + '</li>');
          i++;
          continue;
        }
        closeList();
        if (line.trim() === '') { i++; continue; }
        const paragraph = [line];
        for (i++; i < lines.length && lines[i].trim() !== '' && !block.test(lines[i]); i++) paragraph.push(lines[i]);
        out.push('<p>' + inline(escapeHTML(paragraph.join('\n'))).replace(/\n/g, '<br>') + '</p>');
      }
      closeList();
      return out.join('');
    }

    function status(text) { $('status').textContent = text; }

    function busy(on) {
      $('send').disabled = on;
      $('stop').disabled = !on;
    }

    function setContent(div, text) {
      const content = div.querySelector('.content');
      content.innerHTML = div.classList.contains('user') ? '<p>' + escapeHTML(text).replace(/\n/g, '<br>') + '</p>' : markdown(text);
      $('log').scrollTop = $('log').scrollHeight;
    }

    function addMessage(role, text) {
      const div = document.createElement('div');
      div.className = 'message ' + role;
      div.innerHTML = '<div class="role">' + (role === 'user' ? 'You' : 'Assistant') + '</div><div class="content"></div>';
      $('log').appendChild(div);
      setContent(div, text);
      return div;
    }

    // One turn: the whole conversation goes to /v1/chat/completions and the answer streams into the page.
    async function send(text) {
      state.messages.push({ role: 'user', content: text });
      addMessage('user', text);
      const div = addMessage('assistant', '');
      const controller = new AbortController();
      state.controller = controller;
      busy(true);
      status('…');
      let answer = '', tokens = 0;
      const started = performance.now();
      try {
        const response = await api('/v1/chat/completions', {
          method: 'POST', signal: controller.signal,
          body: JSON.stringify({ model: $('model').value, messages: state.messages, stream: true,
                                 temperature: Number($('temperature').value) || 0,
                                 max_tokens: Math.max(1, Math.floor(Number($('max-tokens').value) || 1024)),
                                 stream_options: { include_usage: true } }),
        });
        if (!response.ok) {
          const body = await response.json().catch(() => ({}));
          throw new Error((body.error && body.error.message) || 'HTTP ' + response.status);
        }
        const reader = response.body.getReader(), decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const event = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            for (const line of event.split('\n')) {
              if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
              const chunk = JSON.parse(line.slice(6));
              if (chunk.error) throw new Error(chunk.error.message);
              const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
              if (delta && delta.content) { answer += delta.content; tokens++; setContent(div, answer); }
              if (chunk.usage) tokens = chunk.usage.completion_tokens;
            }
          }
        }
        status(tokens + ' tokens in ' + ((performance.now() - started) / 1000).toFixed(1) + ' s');
      } catch (e) {
        if (e.name === 'AbortError') {
          div.classList.add('stopped');
          status('Stopped.');
        } else {
          div.classList.add('error');
          setContent(div, (answer ? answer + '\n\n' : '') + e.message);
          status('');
        }
      } finally {
        if (answer) state.messages.push({ role: 'assistant', content: answer }); else state.messages.pop();
        state.controller = null;
        busy(false);
      }
    }

    $('form').addEventListener('submit', event => {
      event.preventDefault();
      const text = $('input').value.trim();
      if (!text || state.controller) return;
      $('input').value = '';
      send(text);
    });
    $('input').addEventListener('keydown', event => {
      if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); $('form').requestSubmit(); }
    });
    $('stop').addEventListener('click', () => { if (state.controller) state.controller.abort(); });
    $('clear').addEventListener('click', () => {
      if (state.controller) state.controller.abort();
      state.messages = [];
      $('log').innerHTML = '';
      status('');
    });
    busy(false);
    loadModels();
    """#
}
