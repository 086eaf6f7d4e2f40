// Switchboard call button: one script tag puts a "Call us / Chat" button on any site.
//
//   <script src="https://cc.example.com/sdk/widget.js" async
//           data-queue="billing" data-topic="Billing" data-language="en"
//           data-metadata='{"account":"A-17","vip":"true","signature":"…"}'></script>
//
// or, to place it yourself, load the script once and write the element where it should be:
//
//   <switchboard-call server="https://cc.example.com" queue="billing" channels="chat"></switchboard-call>
//
// Attributes (on the element, or as data-* on the script tag):
//   server     the Switchboard server's origin (default: where this script came from)
//   queue      the queue the contact goes to (GET /api/queues lists them)
//   topic      what the customer wants, shown to the agent
//   language   what the customer speaks: en, zh or auto
//   entry      the entry point (which bot flow greets them)
//   name       the customer's name, when the site knows it
//   metadata   JSON object of string values the site passes (order, account, ...). Sign it on
//              the site's server (docs/protocol.md, caller.metadata.signature) for VIP routing.
//   channels   "voice chat" (default), "voice" or "chat": which buttons show
//   label      the button's text (default "Call us" / "Chat with us")
//   notice     what the customer is told about transcription (default below)
//   placement  "inline" to render in place, else a floating button at the bottom right
//
// The server must list the site's origin in `allowed_origins` (README, Configuration). The
// element's events bubble from it: 'switchboard-state' {state} and
// 'switchboard-error' {kind, text}.
(() => {
  if (customElements.get('switchboard-call')) return;
  const script = document.currentScript;
  const scriptOrigin = script?.src ? new URL(script.src, location.href).origin : location.origin;

  const DEFAULT_NOTICE =
    'Calls and chats are recorded as text (transcribed) so that our team can help you and improve our service.';

  const CSS = `
    :host { all: initial; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24; }
    :host([placement="inline"]) { display: inline-block; }
    .launcher { display: flex; gap: 8px; }
    :host(:not([placement="inline"])) .launcher, :host(:not([placement="inline"])) .panel {
      position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
    }
    button { font: inherit; border-radius: 8px; border: 1px solid #0b5cad; padding: 9px 16px; cursor: pointer;
             background: #fff; color: #0b5cad; min-height: 40px; }
    button.primary { background: #0b5cad; color: #fff; }
    button:disabled { opacity: .55; cursor: default; }
    button:focus-visible, input:focus-visible { outline: 3px solid #f4b400; outline-offset: 2px; }
    .panel { width: min(360px, calc(100vw - 24px)); max-height: min(560px, calc(100vh - 40px)); display: flex;
             flex-direction: column; background: #fff; border: 1px solid #c9d1da; border-radius: 12px;
             box-shadow: 0 8px 30px rgba(0,0,0,.18); overflow: hidden; }
    .panel[hidden], .launcher[hidden], [hidden] { display: none !important; }
    header { display: flex; align-items: center; justify-content: space-between; padding: 10px 14px;
             background: #0b5cad; color: #fff; }
    header h2 { font-size: 16px; margin: 0; font-weight: 600; }
    header button { background: transparent; color: #fff; border-color: transparent; padding: 4px 10px; min-height: 32px; }
    .status { padding: 10px 14px; font-weight: 600; }
    .status[data-state="ended"], .status[data-state="error"] { color: #8a1c1c; }
    .notice { margin: 0 14px 8px; font-size: 13px; color: #424a53; }
    .problem { margin: 0 14px 8px; padding: 8px 10px; border-radius: 8px; background: #fdecec; color: #6b1111; font-size: 14px; }
    ol.log { list-style: none; margin: 0; padding: 6px 14px; overflow-y: auto; flex: 1; min-height: 60px; }
    ol.log li { margin: 4px 0; padding: 6px 10px; border-radius: 10px; background: #eef2f6; max-width: 85%; }
    ol.log li[data-from="customer"] { margin-left: auto; background: #dcebfb; }
    ol.log li .who { display: block; font-size: 12px; color: #424a53; }
    form { display: flex; gap: 6px; padding: 8px 14px; border-top: 1px solid #e3e8ee; }
    input { flex: 1; font: inherit; padding: 8px 10px; border: 1px solid #8b96a3; border-radius: 8px; min-width: 0; }
    .actions { display: flex; flex-wrap: wrap; gap: 6px; padding: 8px 14px 12px; }
  `;

  const STATES = {
    calling: 'Calling…',
    with_bot: { voice: 'Our assistant is answering your call', chat: 'Chatting with our assistant' },
    ringing: 'Connecting you to an agent…',
    overflow: 'No agent can take your contact right now',
    reconnecting: 'Connection lost: reconnecting…',
  };

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === false || v == null) continue;
      if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
    e.append(...children);
    return e;
  }

  class SwitchboardCallElement extends HTMLElement {
    static get observedAttributes() { return ['label', 'channels']; }

    constructor() {
      super();
      this.sdk = null; // the loaded SDK module
      this.ui = null; // the server's ui.js (customer-facing texts)
      this.call = null; // the CustomerCall of the current contact
      this.channel = null;
      this.state = null;
      const root = this.attachShadow({ mode: 'open' });
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
      this.$voice = el('button', { class: 'primary', type: 'button', part: 'call-button' });
      this.$chat = el('button', { type: 'button', part: 'chat-button' });
      this.$launcher = el('div', { class: 'launcher' }, this.$voice, this.$chat);
      this.$status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
      this.$notice = el('p', { class: 'notice' });
      this.$problem = el('p', { class: 'problem', role: 'alert', hidden: true });
      this.$log = el('ol', { class: 'log', 'aria-label': 'Conversation', 'aria-live': 'polite' });
      this.$input = el('input', { type: 'text', maxlength: '2000', 'aria-label': 'Type a message', placeholder: 'Type a message' });
      this.$send = el('button', { type: 'submit', class: 'primary', text: 'Send' });
      this.$form = el('form', {}, this.$input, this.$send);
      this.$mute = el('button', { type: 'button', text: 'Mute', 'aria-pressed': 'false' });
      this.$person = el('button', { type: 'button', text: 'Talk to a person' });
      this.$end = el('button', { type: 'button', class: 'primary', text: 'Hang up' });
      this.$close = el('button', { type: 'button', 'aria-label': 'Close', text: '✕' });
      this.$title = el('h2', { text: 'Contact us' });
      this.$audio = el('audio', { autoplay: true });
      this.$panel = el('section', { class: 'panel', role: 'dialog', 'aria-label': 'Contact us', hidden: true },
        el('header', {}, this.$title, this.$close),
        this.$status, this.$notice, this.$problem, this.$log, this.$form,
        el('div', { class: 'actions' }, this.$mute, this.$person, this.$end), this.$audio);
      root.append(this.$launcher, this.$panel);

      this.$voice.addEventListener('click', () => this.start('voice'));
      this.$chat.addEventListener('click', () => this.start('chat'));
      this.$form.addEventListener('submit', (ev) => { ev.preventDefault(); this.sendText(); });
      this.$mute.addEventListener('click', () => {
        if (!this.call) return;
        this.call.mute(!this.call.muted);
        this.$mute.textContent = this.call.muted ? 'Unmute' : 'Mute';
        this.$mute.setAttribute('aria-pressed', String(this.call.muted));
      });
      this.$person.addEventListener('click', () => this.call?.requestAgent().catch((e) => this.problem(e)));
      this.$end.addEventListener('click', () => {
        this.call?.hangUp();
        if (this.state !== 'ended') this.setState('ended', 'You ended the contact');
      });
      this.$close.addEventListener('click', () => {
        // Closing the panel of a live contact keeps it running: the launcher reopens it.
        this.$panel.hidden = true;
        this.$launcher.hidden = false;
        this.renderLauncher();
      });
    }

    connectedCallback() {
      this.renderLauncher();
      this.comeBack();
      this.$notice.textContent = this.getAttribute('notice') || DEFAULT_NOTICE;
      // The server's own wording ([calls] transcription_notice), unless the site set one.
      if (!this.hasAttribute('notice')) {
        fetch(`${this.server}/api/customer-page`).then((r) => (r.ok ? r.json() : null)).then((c) => {
          if (c && typeof c.transcription_notice === 'string') {
            this.$notice.textContent = c.transcription_notice;
            this.$notice.hidden = !c.transcription_notice;
          }
        }).catch(() => {});
      }
    }

    attributeChangedCallback() { this.renderLauncher(); }

    get wsUrl() {
      const u = new URL('/ws', this.server);
      u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
      return u.href;
    }

    /** This button's CustomerCall for a new contact (kept in sessionStorage for a reload), wired to the panel. */
    async newCall() {
      const { CustomerCall } = await this.loadSdk();
      const call = new CustomerCall({ url: this.wsUrl, audioElement: this.$audio, persist: 'session' });
      this.call = call;
      this.wire(call);
      return call;
    }

    /** The host page was reloaded mid-contact: come back to it (the SDK kept it in sessionStorage). */
    async comeBack() {
      if (this.call) return; // moved in the page: it has its contact already
      let kept = null;
      try { kept = JSON.parse(sessionStorage.getItem(`switchboard.contact:${this.wsUrl}`) ?? 'null'); } catch { /* none */ }
      if (!kept?.call_id) return;
      this.channel = kept.channel === 'chat' ? 'chat' : 'voice';
      this.$log.replaceChildren();
      this.$panel.hidden = false;
      this.$launcher.hidden = true;
      this.setState('calling', 'Reconnecting to your contact…');
      try {
        const call = await this.newCall();
        const back = await call.rejoin();
        if (!back) {
          this.setState('ended', `${this.channel === 'voice' ? 'Call' : 'Chat'} ended`);
          this.renderLauncher();
        }
      } catch (e) {
        this.setState('error', this.channel === 'voice' ? 'The call could not be resumed' : 'The chat could not be resumed');
        this.problem(e);
      }
    }

    get server() { return (this.getAttribute('server') || scriptOrigin).replace(/\/+$/, ''); }

    get live() { return this.call && !['ended', 'error', null].includes(this.state); }

    renderLauncher() {
      const channels = (this.getAttribute('channels') || 'voice chat').split(/[\s,]+/);
      const live = this.live;
      this.$voice.hidden = !channels.includes('voice') && !live;
      this.$chat.hidden = !channels.includes('chat') || live;
      this.$voice.textContent = live ? 'Back to your contact' : (this.getAttribute('label') || 'Call us');
      this.$chat.textContent = 'Chat with us';
    }

    async loadSdk() {
      if (!this.sdk) {
        // Modules from the server (served with CORS): the SDK and its customer-facing texts.
        [this.sdk, this.ui] = await Promise.all([
          import(`${this.server}/sdk/switchboard.js`),
          import(`${this.server}/ui.js`),
        ]);
      }
      return this.sdk;
    }

    setState(state, text) {
      this.state = state;
      this.$status.dataset.state = state;
      if (this.$status.textContent !== text) this.$status.textContent = text;
      const live = this.live;
      const voice = this.channel === 'voice';
      this.$mute.hidden = !voice;
      this.$mute.disabled = !live || state === 'calling';
      this.$person.hidden = state !== 'with_bot';
      this.$end.textContent = voice ? 'Hang up' : 'End chat';
      this.$end.disabled = !live;
      this.$input.disabled = !live || state === 'calling';
      this.$send.disabled = this.$input.disabled;
      this.dispatchEvent(new CustomEvent('switchboard-state', { bubbles: true, composed: true, detail: { state } }));
    }

    problem(err) {
      const p = this.ui?.customerProblem
        ? this.ui.customerProblem(err)
        : { kind: 'other', text: err?.message || String(err) };
      this.$problem.textContent = p.text;
      this.$problem.dataset.kind = p.kind;
      this.$problem.hidden = false;
      this.dispatchEvent(new CustomEvent('switchboard-error', { bubbles: true, composed: true, detail: p }));
    }

    options() {
      const o = {};
      for (const k of ['queue', 'topic', 'language', 'entry', 'name']) {
        const v = this.getAttribute(k);
        if (v) o[k] = v;
      }
      const meta = this.getAttribute('metadata');
      let metadata = {};
      if (meta) {
        try { metadata = JSON.parse(meta); } catch { console.warn('switchboard-call: metadata is not JSON; ignored'); }
      }
      o.metadata = { page: location.href.slice(0, 500), ...metadata };
      return o;
    }

    async start(channel) {
      if (this.live) {
        this.$panel.hidden = false;
        this.$launcher.hidden = true;
        return;
      }
      this.channel = channel;
      this.$problem.hidden = true;
      this.$log.replaceChildren();
      this.$panel.hidden = false;
      this.$launcher.hidden = true;
      this.setState('calling', channel === 'voice' ? STATES.calling : 'Starting the chat…');
      try {
        this.call?.close();
        const call = await this.newCall();
        if (channel === 'voice') await call.start(this.options());
        else await call.startChat(this.options());
      } catch (e) {
        this.setState('error', channel === 'voice' ? 'The call could not start' : 'The chat could not start');
        this.problem(e);
      }
    }

    wire(call) {
      call.on('state', (s) => {
        if (call !== this.call) return;
        const channel = this.channel;
        if (s.state === 'with_bot') this.setState('with_bot', STATES.with_bot[channel]);
        else if (s.state === 'queued') {
          // The server's ui.js words it, as on the customer page.
          const wait = s.estimated_wait_s != null ? `; expected wait ${this.ui.fmtWait(s.estimated_wait_s)}` : '';
          this.setState('queued', `You are number ${s.position ?? '?'} in the queue${wait}`);
        } else if (s.state === 'connected') {
          const who = s.agent_name ? `Connected to ${s.agent_name}` : 'Connected to an agent';
          this.setState('connected', who);
        } else if (s.state === 'ended') {
          const why = this.ui.END_REASONS[s.reason];
          this.setState('ended', `${channel === 'voice' ? 'Call' : 'Chat'} ended${why ? `: ${why}` : ''}`);
          this.renderLauncher();
        } else this.setState(s.state, STATES[s.state] || s.state);
      });
      call.on('chat_message', ({ message }) => {
        if (call !== this.call) return;
        const who = { customer: 'You', bot: 'Assistant', agent: 'Agent' }[message.from] || message.from;
        this.$log.append(el('li', { 'data-from': message.from }, el('span', { class: 'who', text: who }), message.text));
        this.$log.scrollTop = this.$log.scrollHeight;
      });
      call.on('reconnecting', () => {
        if (call !== this.call || !this.live) return;
        this.beforeDrop ??= this.$status.textContent;
        this.setState(this.state, STATES.reconnecting);
      });
      call.on('resumed', () => {
        if (call !== this.call || this.beforeDrop == null) return;
        // Back: what the status said before, unless a state change arrived meanwhile.
        if (this.$status.textContent === STATES.reconnecting) this.setState(this.state, this.beforeDrop);
        this.beforeDrop = null;
      });
      call.on('close', () => {
        if (call === this.call && this.live) {
          this.setState('ended', `${this.channel === 'voice' ? 'Call' : 'Chat'} ended: the connection to our service was lost`);
          this.renderLauncher();
        }
      });
    }

    async sendText() {
      const text = this.$input.value.trim();
      if (!text || !this.call) return;
      this.$input.value = '';
      try { await this.call.sendChat(text); } catch (e) { this.problem(e); }
    }
  }

  customElements.define('switchboard-call', SwitchboardCallElement);

  // The one-tag form: a script tag with data-* attributes (and no element of its own on the
  // page) adds the floating button.
  if (script && script.dataset.auto !== 'false') {
    const place = () => {
      if (document.querySelector('switchboard-call')) return;
      const e = document.createElement('switchboard-call');
      for (const [k, v] of Object.entries(script.dataset)) e.setAttribute(k, v);
      if (!e.hasAttribute('server')) e.setAttribute('server', scriptOrigin);
      document.body.append(e);
    };
    if (document.body) place();
    else document.addEventListener('DOMContentLoaded', place);
  }
})();
