// A page's use of the SDK, compiled (never run) by types.test.mjs against
// web-client/sdk/switchboard.d.ts and widget.d.ts in strict mode. Every line marked
// `@ts-expect-error` misuses the API: the test fails if it compiles (the types went `any`).

import {
  AgentPhone,
  Conversation,
  CustomerCall,
  PROTOCOL_VERSION,
  SupervisorConsole,
  SwitchboardClient,
  SwitchboardError,
  Transcript,
  compareUtterances,
  defaultUrl,
  type CallState,
  type ChatMessage,
  type LoggedIn,
  type ServerMessage,
  type Utterance,
} from '../../web-client/sdk/switchboard.js';
import type { SwitchboardCallElement } from '../../web-client/sdk/widget.js';

const version: 1 = PROTOCOL_VERSION;
const url: string = defaultUrl();

// --- A customer: a voice call with the bot first, then a chat -------------------------------

export async function customer(): Promise<void> {
  const call = new CustomerCall({ url, audioElement: document.querySelector('audio') });
  const off = call.on('state', (s) => {
    const state: CallState['state'] = s.state;
    if (s.state === 'queued') console.log(`number ${s.position ?? '?'}, about ${s.estimated_wait_s ?? 0} s`);
    if (s.state === 'connected') console.log(s.agent_name?.toUpperCase());
    if (s.state === 'ended' && s.reason === 'callback_requested') console.log(state);
    if (s.state === 'overflow') console.log(s.overflow);
  });
  call.on('chat_message', ({ call_id, message }) => {
    const m: ChatMessage = message;
    console.log(call_id, m.from === 'bot' ? m.entry_id : m.text, m.at_ms.toFixed());
  });
  call.on('reconnecting', ({ attempt, delay_ms }) => console.log(attempt + 1, delay_ms / 1000));
  call.on('resumed', (r) => console.log(r.session_id, r.role, r.call_id));
  call.on('reconnected', ({ session_id }) => console.log(session_id.length));
  call.on('close', ({ code, reason }) => console.log(code.toFixed(), reason.trim()));
  call.on('rate_prompt', (p) => console.log(p.token));
  call.on('message', (m: ServerMessage) => {
    if (m.type === 'call_state') console.log(m.call_id);
    else if (m.type === 'error') console.log(m.code, m.retry_after_ms);
  });
  // A message type this SDK does not know yet: the string fallback.
  call.on('something_new', (m: { type: string }) => console.log(m.type));

  // A page that keeps its contact for a reload comes back to it.
  const kept = new CustomerCall({ url, persist: 'session' });
  if (kept.savedContact?.channel === 'voice') {
    const back = await kept.rejoin();
    if (back) console.log(back.call_id, back.channel, back.state ?? 'unknown');
  }
  // @ts-expect-error persist is a Storage, true or 'session', not a key name
  new CustomerCall({ persist: 'local' });

  const welcome = await call.connect();
  console.log(welcome.protocol, welcome.session_id, welcome.resume_token);
  const answer = await call.start({ name: 'Grace', topic: 'Billing', language: 'en', queue: 'billing', video: false });
  console.log(answer.peer_id, answer.sdp.length, call.callId, call.withBot);
  const next = await call.requestAgent();
  if (next.type === 'call_state') console.log(next.state);
  await call.sendChat('when do I have to pay my bill by?');
  call.mute(true);
  console.log(call.micLevel() * 100, call.conversation?.lastBot()?.text);
  call.hangUp();
  off();

  const first = await call.startChat({ caller: { name: 'Grace', metadata: { account: 'A-17' } }, entry: 'default' });
  if (first.state === 'with_bot') await call.rejectAnswer();
  const ended = await call.requestCallback('+44 20 7946 0000', 'about my bill', new Date());
  console.log(ended.reason);
  if (call.ratePrompt) await call.rate(5, 'thanks');

  try {
    await call.leaveMessage();
  } catch (e) {
    if (e instanceof SwitchboardError && e.code === 'wrong_state') console.log(e.message, e.re);
  }

  // @ts-expect-error: 'reconnecting' carries delay_ms, not delay
  call.on('reconnecting', (r) => console.log(r.delay));
  // @ts-expect-error: a 'state' is a CallState, whose state is not a number
  call.on('state', (s) => s.state.toFixed());
  // @ts-expect-error: a handler typed for another payload
  call.on('welcome', (w: { protocol: string }) => console.log(w.protocol));
  // @ts-expect-error: sendChat takes the text, not a number
  await call.sendChat(42);
  // @ts-expect-error: start() has no 'topics' option
  await call.start({ topics: 'Billing' });
  // @ts-expect-error: not a call_state state
  const bad: CallState['state'] = 'waiting';
  console.log(bad);
}

// --- An agent: log in, become available, accept what rings ----------------------------------

export async function agent(): Promise<void> {
  const phone = new AgentPhone({ requestTimeoutMs: 5000 });
  const user: LoggedIn = await phone.login('alice', 'demo');
  sessionStorage.setItem('token', user.token);
  console.log(user.role === 'agent', new Date(user.expires_at * 1000));
  phone.on('agent_state', (s) => console.log(s.state, s.call_id, s.reason));
  phone.on('handoff', ({ handoff }) => console.log(handoff.summary, handoff.intent ?? 'none', handoff.conversation.length));
  phone.on('utterance', ({ utterance }) => {
    if (utterance.removed) console.log('withdrawn', utterance.utterance_id);
    else console.log(utterance.speaker, utterance.text.trim(), utterance.emotion);
  });
  phone.on('call_offered', async (offer) => {
    console.log(offer.caller.name, offer.waited_s, offer.timeout_s, offer.callback?.contact, offer.transfer?.from_agent);
    const done = await phone.accept(offer.call_id, { channel: offer.channel });
    if (done.type === 'answer') console.log(done.peer_id);
    else if (done.type === 'agent_state') console.log(done.state);
    console.log(phone.contact?.channel, phone.contact?.handoff?.reason, phone.transcript?.list().length);
    await phone.sendChat('Hi, Alice here. How can I help?');
    const moved = await phone.transfer(offer.call_id, 'technical', 'needs a router reset');
    console.log(moved.queue, moved.by);
  });
  await phone.setAvailable(true);
  if (phone.offer) phone.decline(phone.offer.call_id);
  await phone.loginWithToken(user.token).catch((e: unknown) => console.log(e));

  // @ts-expect-error: setAvailable takes a boolean, not a state name
  await phone.setAvailable('available');
  // @ts-expect-error: an offer's caller has no phone field
  phone.on('call_offered', (o) => console.log(o.caller.phone));
  // @ts-expect-error: accept() needs the call id
  await phone.accept();
}

// --- A supervisor: the dashboard, listening and whispering, a watched transcript ------------

export async function supervisor(): Promise<void> {
  const sup = new SupervisorConsole();
  await sup.login('sam', 'demo');
  sup.on('dashboard', (d) => {
    for (const c of d.calls) console.log(c.call_id, c.state, c.channel, c.sentiment?.trend, c.supervisors.map((s) => s.mode));
    for (const a of d.agents) console.log(a.agent_id, a.state, a.state_s);
    for (const q of d.queue) console.log(q.position, q.queue, q.priority);
  });
  sup.on('sentiment_alert', (a) => console.log(a.call_id, a.negative_utterances, a.last_text));
  sup.on('listening', ({ call_id, listening }) => console.log(call_id, listening));
  sup.on('transcript', (t) => console.log(t.final ? t.text : `${t.text}…`, t.end_ms - t.start_ms));
  sup.on('emotion', (e) => console.log(e.label, e.valence, e.arousal, e.trend));

  const callId = sup.dashboard?.calls[0]?.call_id ?? '0123456789abcdef';
  await sup.listen(callId, document.querySelector('audio'));
  const history = await sup.watchTranscript(callId);
  for (const u of history.utterances) console.log(u.speaker, u.text, u.emotion);
  const confirmed = await sup.supervise(callId, 'whisper');
  if (confirmed.type === 'supervision') console.log(confirmed.supervisor_id);
  const t = sup.transcripts.get(callId);
  const sorted: Utterance[] = (t?.list() ?? []).sort(compareUtterances);
  console.log(sorted.length, sup.conversations.get(callId)?.size, sup.listening.get(callId)?.mode);
  sup.stopListening(callId);
  await sup.unwatchTranscript(callId);

  // @ts-expect-error: no such supervision mode
  await sup.supervise(callId, 'shout');
  // @ts-expect-error: a dashboard's calls are CallViews, which have no 'customer'
  sup.on('dashboard', (d) => console.log(d.calls[0].customer));
  // @ts-expect-error: a withdrawn utterance may have no text: check `removed` first
  sup.on('utterance', ({ utterance }) => console.log(utterance.text.trim()));
}

// --- The SDK's building blocks on their own -------------------------------------------------

export function blocks(): void {
  const transcript = new Transcript('0123456789abcdef');
  const changed = transcript.apply({
    type: 'transcript', call_id: '0123456789abcdef', speaker: 'customer', utterance_id: 'customer-1',
    start_ms: 0, end_ms: 800, text: 'hello', final: false,
  });
  console.log(changed.length, transcript.size, transcript.get('customer-1')?.final);
  const conversation = new Conversation('0123456789abcdef');
  const added = conversation.add({ from: 'bot', text: 'Hi', at_ms: Date.now() });
  console.log(added?.text, conversation.list().length);
  const client = new SwitchboardClient({ reconnect: false });
  client.send({ type: 'ping' });
  void client.request({ type: 'watch_transcript', call_id: 'x' }, 'transcript_history').then((r) => r.type);

  // @ts-expect-error: not a client message type
  client.send({ type: 'teleport' });
  // @ts-expect-error: a chat line's from is customer, agent or bot
  conversation.add({ from: 'system', text: 'x', at_ms: 0 });
}

// --- The call button ------------------------------------------------------------------------

export function widget(): void {
  // Typed by widget.d.ts's HTMLElementTagNameMap entry, not by an annotation here.
  const button = document.querySelector('switchboard-call');
  if (!button) return;
  button.setAttribute('channels', 'chat');
  button.addEventListener('switchboard-state', (ev) => console.log(ev.detail.state, button.live, button.server));
  button.addEventListener('switchboard-error', (ev) => {
    if (ev.detail.kind === 'mic-blocked') console.log(ev.detail.text);
  });
  button.call?.on('state', (s) => console.log(s.state));
  void button.start('chat');
  const made = document.createElement('switchboard-call');
  made.setAttribute('queue', 'billing');
  document.body.append(made);
  const same: SwitchboardCallElement = made;
  console.log(same.state);

  // @ts-expect-error: the state event's detail has no 'text'
  button.addEventListener('switchboard-state', (ev) => console.log(ev.detail.text));
  // @ts-expect-error: not a widget channel
  void button.start('video');
  // @ts-expect-error: the element has no 'hangUp' (its `call` has)
  made.hangUp();
}

console.log(version);
