// Telling an agent that a contact rings for them when they are not looking at the page: a ring
// tone (Web Audio, no sound file), a browser notification while the tab is hidden, and the tab's
// title. Browsers let a page play sound and ask for notifications only after a user gesture, so
// `prepare()` is called from the login click.

export class OfferAlert {
  constructor({ baseTitle = document.title, volume = 0.08 } = {}) {
    this.baseTitle = baseTitle;
    this.volume = volume;
    this.ctx = null;
    this.timer = null;
    this.notification = null;
    this.ringing = false;
    /** How many ring bursts were played (for tests and diagnostics). */
    this.rings = 0;
  }

  /** From a user gesture: unlock audio and ask (once) for permission to notify. */
  prepare() {
    try {
      this.ctx ??= new AudioContext();
      this.ctx.resume?.();
    } catch { /* no audio: the title and notification still tell */ }
    if ('Notification' in window && Notification.permission === 'default') {
      Notification.requestPermission().catch(() => {});
    }
  }

  /** Start ringing for an offer: `title` ("Incoming chat"), `body` (who, what about). */
  start({ title, body }) {
    if (this.ringing) return;
    this.ringing = true;
    document.title = `${title} · ${this.baseTitle}`;
    this._badge(true);
    this._burst();
    this.timer = setInterval(() => this._burst(), 3000);
    if (document.hidden && 'Notification' in window && Notification.permission === 'granted') {
      try {
        this.notification = new Notification(title, { body, tag: 'switchboard-offer', requireInteraction: true });
        this.notification.onclick = () => {
          window.focus();
          this.notification?.close();
        };
      } catch { /* some browsers allow notifications only from a service worker */ }
    }
  }

  /** The offer was accepted, declined or withdrawn. */
  stop() {
    if (!this.ringing) return;
    this.ringing = false;
    clearInterval(this.timer);
    this.timer = null;
    this.notification?.close();
    this.notification = null;
    document.title = this.baseTitle;
    this._badge(false);
  }

  /** The tab's icon: a red dot while a contact rings (an SVG data URL), nothing otherwise. */
  _badge(on) {
    let link = document.querySelector('link[rel="icon"]');
    if (!link) {
      link = document.createElement('link');
      link.rel = 'icon';
      document.head.append(link);
    }
    link.href = on
      ? 'data:image/svg+xml,' + encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#c0392b"/></svg>')
      : 'data:,';
    link.dataset.badge = String(on);
  }

  // One ring: 440 + 480 Hz together (the North American ring), twice 0.4 s with 0.2 s between.
  _burst() {
    const ctx = this.ctx;
    if (!ctx) return;
    this.rings += 1;
    const t0 = ctx.currentTime + 0.01;
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0, ctx.currentTime);
    gain.connect(ctx.destination);
    for (const hz of [440, 480]) {
      const osc = ctx.createOscillator();
      osc.frequency.value = hz;
      osc.connect(gain);
      osc.start(t0);
      osc.stop(t0 + 1.0);
    }
    for (const [on, off] of [[0, 0.4], [0.6, 1.0]]) {
      gain.gain.setValueAtTime(this.volume, t0 + on);
      gain.gain.setValueAtTime(0, t0 + off);
    }
  }
}
