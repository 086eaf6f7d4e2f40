// TypeScript declarations for the Switchboard browser SDK (switchboard.js and the modules it
// re-exports: client.js, peer.js, conversation.js, customer.js, agent.js, supervisor.js).
// The wire shapes follow docs/protocol.md (sections 2 and 3) and signaling/src/protocol.rs, the
// authority. Fields the protocol marks optional are omitted (not null) when absent.
// Kept honest by tests/browser/types.test.mjs (exports match the runtime; types-sample.ts
// compiles in strict mode, and its misuses do not).
//
//   import { CustomerCall } from '/sdk/switchboard.js';
//
// Every class is an event emitter. Each server message is emitted under its `type`
// ('call_state', 'dashboard', 'transcript', 'emotion', 'sentiment_alert', 'chat', ...) and under
// 'message'; 'close' fires when the socket closes. AgentPhone and SupervisorConsole also fold
// live transcripts into Transcript objects and emit 'utterance' {call_id, utterance} for every
// utterance that changed (`utterance.removed` is true when the server withdrew it).

// ---------------------------------------------------------------------------------------------
// Names and enumerations of protocol v1
// ---------------------------------------------------------------------------------------------

/** A contact's id: 16 lowercase hex characters, server-generated. */
export type CallId = string;

/** How a contact talks: a voice call (WebRTC), a text chat, or a callback an agent makes. */
export type Channel = 'voice' | 'chat' | 'callback';

/** A call's state as the customer (and the dashboards) see it. */
export type CallStateName = 'with_bot' | 'queued' | 'ringing' | 'connected' | 'overflow' | 'ended';

/**
 * A call's state in the dashboard's CallView: the live states, and `scheduled` (a callback
 * asked for a later time; only on the dashboard). Ended calls are removed at once.
 */
export type CallViewState = 'with_bot' | 'queued' | 'ringing' | 'connected' | 'overflow' | 'scheduled';

/** Why a call ended (`call_state.reason`, docs/protocol.md §5). */
export type EndReason =
  | 'customer_hung_up'
  | 'agent_hung_up'
  | 'customer_disconnected'
  | 'agent_disconnected'
  | 'media_failed'
  | 'server_shutdown'
  | 'server_crash'
  | 'message_left'
  | 'callback_requested';

/** Why no agent can take a contact (`call_state.overflow`). */
export type OverflowReason = 'queue_full' | 'wait_too_long' | 'no_agents' | 'closed';

/** An agent's state. */
export type AgentStateName = 'away' | 'available' | 'ringing' | 'on_call' | 'wrap_up';

/** Why the server set an agent away (`agent_state.reason`). */
export type AwayReason = 'missed_call' | 'connection_lost';

/** Why an offer ended without an accept. */
export type OfferWithdrawnReason = 'declined' | 'timeout' | 'agent_left' | 'call_ended';

/** How a supervisor takes part in a call they listen to. */
export type SupervisionMode = 'listen' | 'whisper' | 'barge';

/** Who spoke an utterance of a live transcript. */
export type Speaker = 'customer' | 'agent';

/** Who wrote a chat line. */
export type ChatFrom = 'customer' | 'agent' | 'bot';

/** The emotion label of a scored final utterance. */
export type EmotionLabel = 'neutral' | 'positive' | 'frustrated' | 'angry';

/** Why the bot handed a contact over. */
export type EscalationReason = 'asked_for_human' | 'negative_emotion' | 'no_answer_repeated' | 'flow';

/** The role of a logged-in account. */
export type AccountRole = 'agent' | 'supervisor';

/** The role of a resumed session. */
export type SessionRole = 'customer' | AccountRole;

/** A protocol error code (docs/protocol.md §4). */
export type ServerErrorCode =
  | 'bad_json'
  | 'unknown_type'
  | 'bad_message'
  | 'too_large'
  | 'unsupported_version'
  | 'not_authenticated'
  | 'bad_credentials'
  | 'forbidden'
  | 'not_found'
  | 'wrong_state'
  | 'bad_sdp'
  | 'rate_limited'
  | 'shutting_down'
  | 'internal';

/**
 * The code of a SwitchboardError: a server's code, or one of the SDK's own: 'disconnected'
 * (the socket is not open, or closed while the request waited) and 'timeout' (no reply within
 * `requestTimeoutMs`).
 */
export type ErrorCode = ServerErrorCode | 'disconnected' | 'timeout';

/** A request's `id` (the SDK sends strings such as 'r7'; the protocol allows numbers too). */
export type RequestId = string | number;

// ---------------------------------------------------------------------------------------------
// Shapes inside messages
// ---------------------------------------------------------------------------------------------

/** What a customer tells about themselves (start_call / start_chat `caller`). Everything is optional. */
export interface CallerInfo {
  /** At most 200 characters. */
  name?: string;
  /** At most 200 characters. */
  topic?: string;
  /** At most 32 entries; keys at most 64, values at most 512 characters (strings only). */
  metadata?: Record<string, string>;
}

/** One ICE candidate, as `RTCIceCandidate.toJSON()` gives it. */
export interface IceCandidate {
  /** The `candidate:...` line. */
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

/** One line of a bot's handoff conversation: a `chat` message without `call_id` and `entry_id`. */
export interface ChatLine {
  from: ChatFrom;
  text: string;
  /** Unix time, milliseconds. */
  at_ms: number;
}

/** What an agent is given with a contact the bot served first (`call_offered.handoff`). */
export interface HandoffCard {
  /** Why the bot handed over. */
  reason: EscalationReason;
  /** The last flow the bot started, else the last knowledge-base entry it answered from; null if neither. */
  intent: string | null;
  /** What the bot collected in flows (order_number, ...); `{}` when no flow ran. */
  slots: Record<string, string>;
  /** The whole conversation so far, oldest first. */
  conversation: ChatLine[];
  /** One valence (-1..1) per customer turn the bot heard, oldest first. */
  sentiment: number[];
  /** One line, in the conversation's language. */
  summary: string;
}

/** With `channel: 'callback'`: whom to call back, and when the customer asked for. */
export interface CallbackInfo {
  /** The contact that asked for it. */
  of_call: CallId;
  /** A phone number or e-mail address, as the customer gave it. */
  contact: string;
  note?: string;
  /** When to call (RFC 3339, UTC); absent: as soon as possible. */
  at?: string;
}

/** A contact another agent transferred: who, from which queue, and their note. */
export interface TransferInfo {
  from_agent: string;
  from_queue?: string;
  note?: string;
}

/** A supervisor on a call and how they take part. */
export interface SupervisorView {
  supervisor_id: string;
  mode: SupervisionMode;
}

/** The customer's mood in a call, updated after each of their final utterances. */
export interface SentimentView {
  /** Label of the customer's latest utterance. */
  label: EmotionLabel;
  /** Rolling valence, -1..1. */
  trend: number;
  /** Negative utterances in a row. */
  negative_run: number;
}

/** One live call in the supervisor's dashboard. */
export interface CallView {
  call_id: CallId;
  state: CallViewState;
  caller: CallerInfo;
  /** Seconds since the call started. */
  duration_s: number;
  /** Seconds in the current state. */
  state_s: number;
  /** The agent the call rings for or is accepted by. */
  agent?: string;
  /** Supervisor usernames listening, in any mode. */
  listeners: string[];
  /** The same supervisors with their mode. */
  supervisors: SupervisorView[];
  /** Absent until the customer's first final utterance (always for a chat). */
  sentiment?: SentimentView;
  channel: Channel;
  /** Why the bot handed the contact over; absent when it did not. */
  escalation?: EscalationReason;
}

/** One agent in the supervisor's dashboard. */
export interface AgentView {
  /** The username. */
  agent_id: string;
  /** The display name. */
  name: string;
  state: AgentStateName;
  /** Seconds in the current state. */
  state_s: number;
  /** Present when `ringing` or `on_call`. */
  call_id?: CallId;
}

/** One call not yet accepted, in queue order. */
export interface QueueEntryView {
  call_id: CallId;
  /** Index in the queue, from 1 (calls ringing at an agent included). */
  position: number;
  /** Seconds since the call started. */
  waiting_s: number;
  /** The queue it waits in; absent: any agent may take it. */
  queue?: string;
  /** Its priority now, what waiting added included. */
  priority: number;
}

/** One stored final utterance (or chat line) of a call, as `transcript_history` gives it. */
export interface UtteranceView {
  /** `customer-N` / `agent-N`; `chat-<at_ms>-<speaker>-<n>` for a chat line. */
  utterance_id: string;
  /** 'bot' only for chat lines. */
  speaker: Speaker | 'bot';
  /** Ms since the call started; for a chat line its at_ms (Unix time, ms). */
  start_ms: number;
  end_ms: number;
  /** Never empty. */
  text: string;
  /** 'neutral' for a chat line. */
  emotion: EmotionLabel;
  valence: number;
  arousal: number;
}

// ---------------------------------------------------------------------------------------------
// Server → client messages (docs/protocol.md §3)
// ---------------------------------------------------------------------------------------------

/** What every server message has. A request's reply also carries the request's id as `re`. */
export interface ServerMessageBase {
  type: string;
  /** On a request's reply (and on `ok` / `error`): the request's `id`. */
  re?: RequestId;
}

/** The first frame on every connection. */
export interface Welcome extends ServerMessageBase {
  type: 'welcome';
  /** The protocol version, 1. */
  protocol: number;
  session_id: string;
  /** 32 hex digits: the proof of this session for `resume`. */
  resume_token: string;
}

/** Reply to `resume`: this connection now is the session `session_id`. */
export interface Resumed extends ServerMessageBase {
  type: 'resumed';
  session_id: string;
  /** Absent when the session had no role yet. */
  role?: SessionRole;
  /** The customer's contact. */
  call_id?: CallId;
}

/** The server's SDP answer: reply to `start_call`, `accept` of a voice call, `listen`. */
export interface Answer extends ServerMessageBase {
  type: 'answer';
  call_id: CallId;
  peer_id: string;
  sdp: string;
}

/** A trickled server ICE candidate (defined in v1, not sent by the current server). */
export interface IceCandidateMessage extends ServerMessageBase {
  type: 'ice_candidate';
  peer_id: string;
  candidate: IceCandidate;
}

/** A contact's progress, to its customer (and to the agent: `connected`, `ended`). */
export interface CallState extends ServerMessageBase {
  type: 'call_state';
  call_id: CallId;
  state: CallStateName;
  /** `queued` only: place among the calls waiting, from 1. */
  position?: number;
  /** `queued` only: estimated wait in seconds. */
  estimated_wait_s?: number;
  /** `ended` only. */
  reason?: EndReason;
  /** `overflow` only: why no agent can take it. */
  overflow?: OverflowReason;
  /** `connected` only: the display name of the agent on the contact. */
  agent_name?: string;
}

/** The other party muted or unmuted. */
export interface PeerMuted extends ServerMessageBase {
  type: 'peer_muted';
  call_id: CallId;
  /** Who muted. */
  role: Speaker;
  muted: boolean;
}

/** To the agent: the customer's page lost its media and may come back (a reload), or came back. */
export interface PeerConnection extends ServerMessageBase {
  type: 'peer_connection';
  call_id: CallId;
  /** Whose connection: 'customer'. */
  role: Speaker;
  connected: boolean;
}

/** Reply to `login`. */
export interface LoggedIn extends ServerMessageBase {
  type: 'logged_in';
  username: string;
  /** The display name. */
  name: string;
  role: AccountRole;
  /** The session token: `login {token}` on a new connection, `Authorization: Bearer` on the HTTP API. */
  token: string;
  /** When the token stops working (Unix seconds). */
  expires_at: number;
}

/** The agent's state (after login, and whenever it or its away reason changes). */
export interface AgentState extends ServerMessageBase {
  type: 'agent_state';
  state: AgentStateName;
  /** Present when `ringing` or `on_call`. */
  call_id?: CallId;
  /** Present while the server set the agent away. */
  reason?: AwayReason;
}

/** To the customer, after their contact ended: rate it with this token (CustomerCall.rate). */
export interface RatePrompt extends ServerMessageBase {
  type: 'rate_prompt';
  call_id: CallId;
  token: string;
}

/** The agent transferred the contact to `queue`. */
export interface Transferred extends ServerMessageBase {
  type: 'transferred';
  call_id: CallId;
  queue: string;
  /** The agent. */
  by: string;
}

/** The agent of the call was lost mid-call: it is back at the head of its queue. */
export interface AgentLost extends ServerMessageBase {
  type: 'agent_lost';
  call_id: CallId;
}

/** A contact rings for this agent: accept or decline within `timeout_s`. */
export interface CallOffered extends ServerMessageBase {
  type: 'call_offered';
  call_id: CallId;
  caller: CallerInfo;
  /** Seconds since the call started. */
  waited_s: number;
  /** The ring timeout, seconds. */
  timeout_s: number;
  /** How to accept it: chats and callbacks without SDP. */
  channel: Channel;
  /** Present when the bot served the contact first. */
  handoff?: HandoffCard;
  /** The queue it waited in. */
  queue?: string;
  /** With `channel: 'callback'`: whom to call back. */
  callback?: CallbackInfo;
  /** Present when another agent transferred it. */
  transfer?: TransferInfo;
}

/** The offer ended without an accept. */
export interface OfferWithdrawn extends ServerMessageBase {
  type: 'offer_withdrawn';
  call_id: CallId;
  reason: OfferWithdrawnReason;
}

/** Supervisors: the whole live view. */
export interface Dashboard extends ServerMessageBase {
  type: 'dashboard';
  /** Every live call, ordered by call_id. */
  calls: CallView[];
  /** Agents with an open session or not away, ordered by agent_id. */
  agents: AgentView[];
  /** Calls not yet accepted, in queue order. */
  queue: QueueEntryView[];
}

/** Supervisors: listening stopped (asked for, the call ended, or the peer connection failed). */
export interface ListenStopped extends ServerMessageBase {
  type: 'listen_stopped';
  call_id: CallId;
}

/** A supervisor's mode on a call changed (to that supervisor, and to the agent on the call). */
export interface Supervision extends ServerMessageBase {
  type: 'supervision';
  call_id: CallId;
  supervisor_id: string;
  mode: SupervisionMode;
}

/**
 * One utterance of one speaker, partial (`final: false`) or final. A later message with the
 * same `utterance_id` replaces the earlier one; a final with empty `text` withdraws it.
 */
export interface TranscriptMessage extends ServerMessageBase {
  type: 'transcript';
  call_id: CallId;
  speaker: Speaker;
  utterance_id: string;
  /** Ms since the call started. */
  start_ms: number;
  end_ms: number;
  text: string;
  final: boolean;
}

/** How a final utterance sounded and read, and where its speaker's mood is heading. */
export interface EmotionMessage extends ServerMessageBase {
  type: 'emotion';
  call_id: CallId;
  speaker: Speaker;
  utterance_id: string;
  label: EmotionLabel;
  /** -1..1 */
  valence: number;
  /** 0..1 */
  arousal: number;
  /** -1..1: the speaker's rolling valence in this call. */
  trend: number;
}

/** Reply to `watch_transcript` (also after an agent's accept of a voice call with stored utterances). */
export interface TranscriptHistory extends ServerMessageBase {
  type: 'transcript_history';
  call_id: CallId;
  /** Ordered by start_ms, then utterance_id; `[]` when none. */
  utterances: UtteranceView[];
}

/** One chat line of a contact (each writer gets its own lines back too). */
export interface Chat extends ServerMessageBase {
  type: 'chat';
  call_id: CallId;
  from: ChatFrom;
  /** 1 to 2000 characters, trimmed. */
  text: string;
  /** Unix time, ms: when the server took the line. */
  at_ms: number;
  /** Bot lines only: the knowledge-base entry the customer's last turn matched. */
  entry_id?: string;
}

/** Supervisors: a customer has been negative `negative_utterances` times in a row. */
export interface SentimentAlert extends ServerMessageBase {
  type: 'sentiment_alert';
  call_id: CallId;
  /** Omitted while queued. */
  agent?: string;
  negative_utterances: number;
  /** -1..1 */
  trend: number;
  last_text: string;
}

/** Reply to `ping`. */
export interface Pong extends ServerMessageBase {
  type: 'pong';
}

/** A request with an `id` succeeded; sent after every other message it caused. */
export interface Ok extends ServerMessageBase {
  type: 'ok';
  re: RequestId;
}

/** A request was refused (nothing changed), or the server is shutting down. */
export interface ErrorMessage extends ServerMessageBase {
  type: 'error';
  code: ServerErrorCode;
  /** Human-readable English, safe to display; switch on `code`. */
  message: string;
  /** With `rate_limited`: how long to wait before trying again. */
  retry_after_ms?: number;
}

/** Every server message, by its `type`. */
export interface ServerMessages {
  welcome: Welcome;
  resumed: Resumed;
  answer: Answer;
  ice_candidate: IceCandidateMessage;
  call_state: CallState;
  peer_muted: PeerMuted;
  peer_connection: PeerConnection;
  logged_in: LoggedIn;
  agent_state: AgentState;
  rate_prompt: RatePrompt;
  transferred: Transferred;
  agent_lost: AgentLost;
  call_offered: CallOffered;
  offer_withdrawn: OfferWithdrawn;
  dashboard: Dashboard;
  listen_stopped: ListenStopped;
  supervision: Supervision;
  transcript: TranscriptMessage;
  emotion: EmotionMessage;
  transcript_history: TranscriptHistory;
  chat: Chat;
  sentiment_alert: SentimentAlert;
  pong: Pong;
  ok: Ok;
  error: ErrorMessage;
}

/** Any server message (a union discriminated by `type`). */
export type ServerMessage = ServerMessages[keyof ServerMessages];

/** The `type` of a server message. */
export type ServerMessageType = keyof ServerMessages;

// ---------------------------------------------------------------------------------------------
// Client → server messages (docs/protocol.md §2), for send() and request()
// ---------------------------------------------------------------------------------------------

interface ClientMessageBase {
  /** Set by request() itself; send() passes it through. */
  id?: RequestId;
}

export interface StartCallMessage extends ClientMessageBase {
  type: 'start_call';
  sdp: string;
  caller?: CallerInfo;
  language?: string;
  entry?: string;
  queue?: string;
}
export interface StartChatMessage extends ClientMessageBase {
  type: 'start_chat';
  caller?: CallerInfo;
  language?: string;
  entry?: string;
  queue?: string;
}
export interface ChatRequest extends ClientMessageBase { type: 'chat'; call_id: CallId; text: string }
export interface RequestAgentMessage extends ClientMessageBase { type: 'request_agent'; call_id: CallId }
export interface RejectAnswerMessage extends ClientMessageBase { type: 'reject_answer'; call_id: CallId }
export interface LeaveMessageMessage extends ClientMessageBase { type: 'leave_message'; call_id: CallId; text?: string }
export interface RequestCallbackMessage extends ClientMessageBase {
  type: 'request_callback';
  call_id: CallId;
  contact: string;
  note?: string;
  /** RFC 3339 with an offset. */
  at?: string;
}
export interface IceCandidateRequest extends ClientMessageBase { type: 'ice_candidate'; peer_id: string; candidate: IceCandidate }
export interface MuteMessage extends ClientMessageBase { type: 'mute'; call_id: CallId; muted: boolean }
export interface HangUpMessage extends ClientMessageBase { type: 'hang_up'; call_id: CallId }
export interface TransferMessage extends ClientMessageBase { type: 'transfer'; call_id: CallId; queue: string; note?: string }
export interface LoginMessage extends ClientMessageBase { type: 'login'; username?: string; password?: string; token?: string }
export interface SetStateMessage extends ClientMessageBase { type: 'set_state'; state: 'available' | 'away' }
export interface AcceptMessage extends ClientMessageBase { type: 'accept'; call_id: CallId; sdp?: string }
export interface DeclineMessage extends ClientMessageBase { type: 'decline'; call_id: CallId }
export interface ListenMessage extends ClientMessageBase { type: 'listen'; call_id: CallId; sdp: string }
export interface SuperviseMessage extends ClientMessageBase { type: 'supervise'; call_id: CallId; mode: SupervisionMode }
export interface StopListeningMessage extends ClientMessageBase { type: 'stop_listening'; call_id: CallId }
export interface WatchTranscriptMessage extends ClientMessageBase { type: 'watch_transcript'; call_id: CallId }
export interface UnwatchTranscriptMessage extends ClientMessageBase { type: 'unwatch_transcript'; call_id: CallId }
export interface PingMessage extends ClientMessageBase { type: 'ping' }
export interface ResumeMessage extends ClientMessageBase { type: 'resume'; session_id: string; token: string }
/** Customer, after `resume`: come back to the live contact (a voice call with a new peer connection's offer, a chat without). */
export interface RejoinMessage extends ClientMessageBase { type: 'rejoin'; call_id: CallId; sdp?: string }

/** Any client message (a union discriminated by `type`). */
export type ClientMessage =
  | StartCallMessage
  | StartChatMessage
  | ChatRequest
  | RequestAgentMessage
  | RejectAnswerMessage
  | LeaveMessageMessage
  | RequestCallbackMessage
  | IceCandidateRequest
  | MuteMessage
  | HangUpMessage
  | TransferMessage
  | LoginMessage
  | SetStateMessage
  | AcceptMessage
  | DeclineMessage
  | ListenMessage
  | SuperviseMessage
  | StopListeningMessage
  | WatchTranscriptMessage
  | UnwatchTranscriptMessage
  | PingMessage
  | ResumeMessage
  | RejoinMessage;

// ---------------------------------------------------------------------------------------------
// What the SDK builds from messages
// ---------------------------------------------------------------------------------------------

/**
 * An utterance of a Transcript:
 *   {utterance_id, speaker, start_ms, end_ms, text, final, emotion?, valence?, arousal?, trend?}
 * where `emotion` is the label (neutral, positive, frustrated, angry) once the final is scored.
 */
export interface Utterance {
  utterance_id: string;
  /** 'bot' only for chat lines from a `transcript_history`. */
  speaker: Speaker | 'bot';
  start_ms: number;
  end_ms: number;
  text: string;
  final: boolean;
  emotion?: EmotionLabel;
  valence?: number;
  arousal?: number;
  /** Only from a live `emotion` (not stored in the history). */
  trend?: number;
  removed?: false;
}

/**
 * A withdrawn utterance (a final with empty text): what was known of it, with `removed: true`.
 * Its other fields are missing when its partials were never seen here.
 */
export interface RemovedUtterance extends Partial<Omit<Utterance, 'utterance_id' | 'speaker' | 'final' | 'removed'>> {
  utterance_id: string;
  speaker: Speaker | 'bot';
  final: true;
  removed: true;
}

/** A message of a Conversation: {from, text, at_ms, entry_id?}. */
export interface ChatMessage {
  /** 'customer', 'agent' or 'bot'. */
  from: ChatFrom;
  text: string;
  /** Unix time, ms. */
  at_ms: number;
  /** The knowledge-base entry a bot answer came from. */
  entry_id?: string;
}

/** What Conversation.add takes: a `chat` message, or a handoff entry (which has no call_id). */
export interface ChatInput {
  call_id?: CallId | null;
  from: ChatFrom;
  text?: string;
  at_ms?: number;
  entry_id?: string | null;
}

/** The accepted (or last) contact of an AgentPhone. */
export interface AgentContact {
  call_id: CallId;
  channel: Channel;
  /** `{}` when the offer was not seen by this session. */
  caller: CallerInfo;
  handoff: HandoffCard | null;
  /** A callback: whom to call back. */
  callback: CallbackInfo | null;
  /** Transferred by another agent. */
  transfer: TransferInfo | null;
}

/** One call a SupervisorConsole listens to (`listening.get(callId)`). */
export interface ListeningEntry {
  link: PeerLink;
  /** Where both voices play, mixed. */
  element: HTMLMediaElement;
  stream: MediaStream;
  /** First audio m-line: the customer's voice in, the supervisor's microphone out (whisper, barge). */
  customer: RTCRtpTransceiver;
  /** Second audio m-line: the agent's voice. */
  agent: RTCRtpTransceiver;
  mode: SupervisionMode;
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/** 'close': the socket closed and the client gave up (or never reconnects). */
export interface CloseInfo {
  /** The WebSocket close code, or the SDK's own: 4404 (the session could not be resumed), 4408 (no answer to pings; the service could not be reached again). */
  code: number;
  reason: string;
}

/** 'reconnecting': before each try to reconnect. */
export interface ReconnectingEvent {
  /** 1, 2, ... */
  attempt: number;
  /** How long the SDK waits before this try. */
  delay_ms: number;
}

/** 'reconnected': the session was gone and a new one was made (a new login with the session token). */
export interface ReconnectedEvent {
  session_id: string;
}

/** 'chat_message': a message new to the contact's Conversation. */
export interface ChatMessageEvent {
  call_id: CallId;
  message: ChatMessage;
}

/** 'utterance': an utterance of a Transcript changed (`utterance.removed`: withdrawn). */
export interface UtteranceEvent {
  call_id: CallId;
  utterance: Utterance | RemovedUtterance;
}

/** 'handoff' (AgentPhone): an offer the bot handed over. */
export interface HandoffEvent {
  call_id: CallId;
  channel: Channel;
  handoff: HandoffCard;
}

/** 'listening' (SupervisorConsole): listening to a call started or stopped. */
export interface ListeningEvent {
  call_id: CallId;
  listening: boolean;
}

/** 'supervising' (SupervisorConsole): the mode on a call changed. */
export interface SupervisingEvent {
  call_id: CallId;
  mode: SupervisionMode;
}

/** The events of every client: each server message under its `type`, and the connection's own. */
export interface ClientEvents extends ServerMessages {
  /** Every server message. */
  message: ServerMessage;
  /** The client gave up: a customer after `resumeWindowMs`; also after close() or without reconnect. */
  close: CloseInfo;
  /** Before each try to reconnect. */
  reconnecting: ReconnectingEvent;
  /** The session is back (the server's `resumed`; emitted once as the message and once by the reconnect loop). */
  resumed: Resumed;
  /** The session was gone and a new one had to be made (agents and supervisors log in again). */
  reconnected: ReconnectedEvent;
}

/** Events of CustomerCall and AgentPhone. */
export interface CallPartyEvents extends ClientEvents {
  /** Every message new to the contact's Conversation (each side's own when it comes back). */
  chat_message: ChatMessageEvent;
}

/** Events of CustomerCall. */
export interface CustomerCallEvents extends CallPartyEvents {
  /** Every call_state of its contact, 'with_bot' included. */
  state: CallState;
}

/** Events of AgentPhone. */
export interface AgentPhoneEvents extends CallPartyEvents {
  /** Every change to `transcript`. */
  utterance: UtteranceEvent;
  /** An offer the bot handed over. */
  handoff: HandoffEvent;
}

/** Events of SupervisorConsole. */
export interface SupervisorConsoleEvents extends ClientEvents {
  /** Every change to a watched call's Transcript (in `transcripts`). */
  utterance: UtteranceEvent;
  /** A watched contact's typed messages (customer, bot, agent). */
  chat_message: ChatMessageEvent;
  listening: ListeningEvent;
  supervising: SupervisingEvent;
}

/** A handler of event `K`. */
export type Handler<E, K extends keyof E> = (data: E[K]) => void;

declare class Emitter<E> {
  /** Subscribe; returns a function that unsubscribes. */
  on<K extends keyof E & string>(type: K, fn: (data: E[K]) => void): () => void;
  /** Subscribe to an event this SDK does not know by name (a newer server's message type). */
  on<T extends string>(type: T extends keyof E ? never : T, fn: (data: any) => void): () => void;
  off<K extends keyof E & string>(type: K, fn: (data: E[K]) => void): void;
  off<T extends string>(type: T extends keyof E ? never : T, fn: (data: any) => void): void;
  /** Call every handler of `type` (a throwing handler does not stop the others). */
  emit<K extends keyof E & string>(type: K, data: E[K]): void;
  emit<T extends string>(type: T extends keyof E ? never : T, data?: unknown): void;
}

// ---------------------------------------------------------------------------------------------
// Exports
// ---------------------------------------------------------------------------------------------

/** The protocol version this SDK speaks. */
export declare const PROTOCOL_VERSION: 1;

/** The server's WebSocket endpoint on the page's own host. */
export declare function defaultUrl(): string;

/** A refusal from the server (`error` message) or a local failure, with a protocol error code. */
export declare class SwitchboardError extends Error {
  constructor(code: ErrorCode | (string & {}), message: string, re?: RequestId);
  name: 'SwitchboardError';
  /** The server's code, or 'disconnected' / 'timeout' (the SDK's own). */
  code: ErrorCode | (string & {});
  /** The id of the refused request, when known. */
  re: RequestId | undefined;
}

/** Options of every client. */
export interface ClientOptions {
  /** The WebSocket URL; default defaultUrl(). */
  url?: string;
  /** Ping every this many ms (default 4000). */
  pingIntervalMs?: number;
  /** A ping unanswered this long (default 10000 ms) means the socket is dead. */
  deadAfterMs?: number;
  /** A request without its reply this long (default 15000 ms) rejects with 'timeout'. */
  requestTimeoutMs?: number;
  /** For the peer connections (default []). */
  iceServers?: RTCIceServer[];
  /** Reconnect and resume a dropped connection (default true). */
  reconnect?: boolean;
  /** How long a customer tries to resume (default 20000 ms, the server's grace). */
  resumeWindowMs?: number;
}

/**
 * One WebSocket connection: requests, replies, events, keep-alive and reconnection.
 *
 * Reconnect policy. A connection that drops (the network, a server restart; not close()) is
 * re-opened with back-off (about 0.25, 0.5, 1, 2, 4, then every 5 s, with jitter) and the
 * session resumed with `resume {session_id, token}`: calls go on, and what the server sent
 * meanwhile arrives then. Events: 'reconnecting' {attempt, delay_ms} before each try,
 * 'resumed' {session_id, role?, call_id?} when the session is back, 'reconnected' when it was
 * gone and a new one had to be made (agents and supervisors log in again with their session
 * token; `restoreSession()` does it), and 'close' {code, reason} when the client gives up: a
 * customer after `resumeWindowMs` (the server keeps a session 20 s by default), agents and
 * supervisors never (they wait for the server to come back). A socket that stops answering
 * pings for `deadAfterMs` counts as dropped. `reconnect: false` turns all this off.
 */
export declare class SwitchboardClient<E extends ClientEvents = ClientEvents> extends Emitter<E> {
  constructor(options?: ClientOptions);
  url: string;
  pingIntervalMs: number;
  deadAfterMs: number;
  requestTimeoutMs: number;
  iceServers: RTCIceServer[];
  reconnect: boolean;
  resumeWindowMs: number;
  ws: WebSocket | null;
  /** The session's id: the welcome's (or the resumed session's); null while not connected. */
  sessionId: string | null;
  resumeToken: string | null;
  /** True between a dropped connection and its resumption (or giving up). */
  reconnecting: boolean;
  /** The socket is open and welcomed. */
  readonly connected: boolean;
  /** Open the socket; resolves with the `welcome` message. Calling it again reuses the connection. */
  connect(): Promise<Welcome>;
  /** The session is gone (the server restarted, the grace ran out): make a new one if we can. */
  restoreSession(): Promise<boolean>;
  close(): void;
  /** Fire and forget. Throws when the socket is not open, so callers notice lost actions. */
  send(msg: ClientMessage): void;
  /**
   * Send `msg` with a fresh `id` and wait until the server settles it: `ok {re}` resolves with
   * the reply of type `replyType` (the one whose `re` is this request's id) that came before it
   * (or with the `ok` itself when the request causes no such reply, e.g. set_state to the
   * current state); `error {re}` rejects.
   */
  request<K extends ServerMessageType>(
    msg: ClientMessage,
    replyType: K,
    match?: (reply: ServerMessages[K]) => boolean,
    options?: { quiet?: boolean },
  ): Promise<ServerMessages[K] | Ok>;
}

/**
 * One RTCPeerConnection to the server with trickle ICE in both directions. Local candidates
 * wait until the server has named the peer (its `answer` carries peer_id); remote ones wait
 * until the answer is applied, because addIceCandidate fails before setRemoteDescription.
 */
export declare class PeerLink {
  constructor(client: SwitchboardClient<any>);
  client: SwitchboardClient<any>;
  /** From the answer; null until it is applied. */
  peerId: string | null;
  pc: RTCPeerConnection;
  /** Set the local description and return its SDP offer. */
  createOffer(): Promise<string>;
  applyAnswer(answer: Pick<Answer, 'peer_id' | 'sdp'>): Promise<void>;
  addRemoteCandidate(c: IceCandidate): void;
  close(): void;
}

/**
 * One call's live transcript: `transcript`, `emotion` and `transcript_history` messages folded
 * into utterances keyed by utterance_id. An utterance is
 *   {utterance_id, speaker, start_ms, end_ms, text, final, emotion?, valence?, arousal?, trend?}
 * where `emotion` is the label (neutral, positive, frustrated, angry) once the final is scored.
 * A later message for an utterance replaces the earlier one; a final with empty text withdraws it.
 */
export declare class Transcript {
  constructor(callId: CallId);
  callId: CallId;
  /**
   * Fold in one message of this call; returns the utterances it changed (a withdrawn one comes
   * back with `removed: true`). Messages of other calls change nothing.
   */
  apply(msg: ServerMessage): Array<Utterance | RemovedUtterance>;
  get(utteranceId: string): Utterance | undefined;
  readonly size: number;
  /** Every utterance in time order (start, then id). */
  list(): Utterance[];
}

/** Time order of utterances: by start_ms, then by utterance_id. */
export declare function compareUtterances(
  a: { start_ms?: number; utterance_id: string },
  b: { start_ms?: number; utterance_id: string },
): number;

/**
 * One contact's chat: `chat` messages, and the conversation of a bot's handoff, folded into
 * messages {from, text, at_ms, entry_id?} (`from` is 'customer', 'agent' or 'bot'; `entry_id`
 * names the knowledge-base entry a bot answer came from). A message already held (same sender,
 * time and text: one in a handoff's history that also arrives live) is not added twice.
 */
export declare class Conversation {
  constructor(callId: CallId);
  callId: CallId;
  /** Fold in one `chat` message (or a handoff entry, which has no call_id); returns it if new, else null. */
  add(m: ChatInput): ChatMessage | null;
  readonly size: number;
  /** Every message in the order said (at_ms; arrival order within the same millisecond). */
  list(): ChatMessage[];
  /** The bot's latest message, or null. */
  lastBot(): ChatMessage | null;
}

/** Options of CustomerCall and AgentPhone. */
export interface CallPartyOptions extends ClientOptions {
  /** Microphone constraints, over echoCancellation, noiseSuppression and autoGainControl (all true). */
  audio?: MediaTrackConstraints;
  /** Where the other side (and a supervisor who barges or whispers) plays; default a new Audio(). */
  audioElement?: HTMLMediaElement | null;
  /** Where the other side's video plays, if anywhere. */
  videoElement?: HTMLMediaElement | null;
}

/**
 * What customers and agents share: a microphone, one peer connection with an audio and a
 * video transceiver (sendrecv both, so a camera can be added later without renegotiation),
 * mute, hang-up and a microphone level meter. (Not exported by switchboard.js; call-party.js.)
 */
declare class CallParty<E extends CallPartyEvents = CallPartyEvents> extends SwitchboardClient<E> {
  constructor(options?: CallPartyOptions);
  audioOptions: MediaTrackConstraints;
  audioElement: HTMLMediaElement | null;
  videoElement: HTMLMediaElement | null;
  link: PeerLink | null;
  /** The current (or last, closed) peer connection. */
  pc: RTCPeerConnection | null;
  /** The current (or last) contact's id. */
  callId: CallId | null;
  muted: boolean;
  micTrack: MediaStreamTrack | null;
  cameraTrack: MediaStreamTrack | null;
  /** 'voice' or 'chat': the current (or last) contact's (set by CustomerCall; AgentPhone uses `contact.channel`). */
  channel: 'voice' | 'chat' | null;
  /** Its Conversation (typed messages, on either channel). */
  conversation: Conversation | null;
  /** Stop (or resume) sending audio: the track is disabled locally and the server is told. */
  mute(muted?: boolean): void;
  hangUp(): void;
  /**
   * Type a message into the contact (a chat, or a voice call: text works on both). Resolves on
   * the server's `ok`; the message itself arrives back as a 'chat' ('chat_message') event, which
   * is when pages should show it. The server trims it. Rejects with the server's code:
   * bad_message (empty, over 2000 characters), wrong_state, forbidden / not_found.
   */
  sendChat(text: string): Promise<Ok>;
  /** Start sending the camera on the existing video transceiver (no renegotiation). */
  enableCamera(constraints?: boolean | MediaTrackConstraints): Promise<void>;
  disableCamera(): Promise<void>;
  /** Microphone loudness as RMS in 0..1 (0 while muted). Cheap enough to call every frame. */
  micLevel(): number;
}

/** What start() and startChat() take. */
export interface StartChatOptions {
  /** Shorthand for caller.name. */
  name?: string;
  /** Shorthand for caller.topic. */
  topic?: string;
  /** Shorthand for caller.metadata. */
  metadata?: Record<string, string>;
  /** The CallerInfo itself. */
  caller?: CallerInfo;
  /** A call: ISO 639-1 ('en', 'zh', ...) or 'auto'; a chat: 'en' or 'zh'. Default: the server's. */
  language?: string;
  /** The entry point (which bot flow greets the customer). */
  entry?: string;
  /** The queue the customer chose (GET /api/queues lists them). */
  queue?: string;
}

/** What start() takes. */
export interface StartOptions extends StartChatOptions {
  /** Send the camera too (default false). */
  video?: boolean;
}

/** Options of a CustomerCall. */
export interface CustomerCallOptions extends CallPartyOptions {
  /**
   * Where to keep the live contact so that a reload of the page can come back to it
   * (`rejoin()`): true or 'session' for sessionStorage, or any Storage; off by default.
   */
  persist?: boolean | 'session' | Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
}

/** What `rejoin()` came back to. */
export interface Rejoined {
  call_id: CallId;
  channel: 'voice' | 'chat';
  state: CallStateName | null;
}

/**
 * The customer side: one contact at a time, a voice call or a chat. Emits 'state' with each
 * `call_state` of the contact ('with_bot' while the bot serves it, then 'queued', 'ringing',
 * 'connected', 'ended'), and 'chat_message' {call_id, message} for each message of it.
 */
export declare class CustomerCall extends CallParty<CustomerCallEvents> {
  constructor(options?: CustomerCallOptions);
  /** The live contact a reload can come back to, or null (needs `persist`). */
  readonly savedContact: { call_id: CallId; channel: 'voice' | 'chat' } | null;
  /**
   * Come back to the contact this page had before it was reloaded (needs `persist`): resume
   * the kept session, then rejoin the contact, a voice call with a new peer connection (the
   * microphone is asked for again), a chat without; the chat so far arrives again as
   * 'chat_message' events and the contact's state as 'state'. Resolves with what it came back
   * to, or null when there is nothing to come back to (no contact kept, or the server ended
   * it meanwhile).
   */
  rejoin(): Promise<Rejoined | null>;
  /** The last call_state's state, e.g. 'with_bot'. */
  state: CallStateName | null;
  /** The `rate_prompt` of the contact that just ended (undefined before any contact). */
  ratePrompt?: RatePrompt | null;
  /** True while the bot serves the contact (before the customer asked for a person). */
  readonly withBot: boolean;
  /**
   * Rate the contact that just ended, 1 to 5, with an optional comment (once; the server sent
   * 'rate_prompt' with the token when it ended). Resolves when stored; rejects with the
   * server's error otherwise.
   */
  rate(score: number, comment?: string): Promise<{ call_id: CallId }>;
  /**
   * Place a call; resolves once the server's answer is applied (the call may still be queued,
   * or with the bot). `language` is what the customer will speak (ISO 639-1 such as 'en' or
   * 'zh', or 'auto'); without it the server's default applies. `entry` names the entry point
   * (which bot flow greets the customer); `queue` the queue the customer chose (GET
   * /api/queues lists them); `caller` is the CallerInfo itself, or give name / topic / metadata.
   */
  start(options?: StartOptions): Promise<Answer>;
  /**
   * Start a text chat: no microphone, no peer connection. Resolves with the first `call_state`
   * ('with_bot' when the bot serves it, else 'queued'); the bot's greeting follows as a
   * 'chat_message'. `language` is the language of the chat (e.g. 'en', 'zh'), `entry` as in start().
   */
  startChat(options?: StartChatOptions): Promise<CallState>;
  /** Ask for a person: the contact leaves the bot for the queue. Resolves with the next call_state (or ok). */
  requestAgent(): Promise<CallState | Ok>;
  /** Tell the bot its last answer was not what the customer asked; it asks them to rephrase. */
  rejectAnswer(): Promise<Ok>;
  /**
   * No agent can take the contact (call_state 'overflow'): leave a message and end it. In a voice
   * call `text` may be left out: what the customer said since the overflow is the message.
   * Resolves with the call_state 'ended' (reason 'message_left').
   */
  leaveMessage(text?: string): Promise<CallState>;
  /**
   * No agent can take the contact: ask to be called back at `contact` (phone or e-mail), with
   * an optional `note`, and end it. `at` (a Date, or an RFC 3339 string) asks for a later
   * time: within 14 days and, when the queue has business hours, inside them (else the
   * promise rejects with 'bad_message' saying why). Resolves with the call_state 'ended'
   * ('callback_requested').
   */
  requestCallback(contact: string, note?: string, at?: Date | string): Promise<CallState>;
}

/**
 * The agent side: log in, become available, accept offered calls and chats. While on a voice
 * call it receives 'transcript' and 'emotion' events for both parties; `transcript` is the
 * current (or last) call's Transcript, and 'utterance' {call_id, utterance} fires for every
 * change to it. `offer` is the ringing offer ({call_id, caller, channel, handoff?, ...}; a
 * 'handoff' event fires for one the bot handed over), `contact` the accepted (or last) contact
 * and `conversation` its Conversation: the handoff's conversation first, then live messages,
 * each emitted as 'chat_message' {call_id, message}.
 */
export declare class AgentPhone extends CallParty<AgentPhoneEvents> {
  constructor(options?: CallPartyOptions);
  /** The `logged_in` of the login (its `token` is the session token). */
  user: LoggedIn | null;
  /** The agent's state, from the last `agent_state`. */
  state: AgentStateName | null;
  /** The ringing offer (`channel` always set). */
  offer: CallOffered | null;
  /** The accepted (or last) contact. */
  contact: AgentContact | null;
  /** The current (or last) call's Transcript. */
  transcript: Transcript | null;
  /** Log in with a username and password; resolves with `logged_in` (its `token` is the session token). */
  login(username: string, password: string): Promise<LoggedIn>;
  /** Log in again with the `token` of an earlier `logged_in` (after a reload or a restart). */
  loginWithToken(token: string): Promise<LoggedIn>;
  /** The server forgot the session (a restart): log in again with the session token. */
  restoreSession(): Promise<boolean>;
  /** Available (true) or away (false); resolves with the resulting `agent_state` (the `ok` when it did not change). */
  setAvailable(available: boolean): Promise<AgentState | Ok>;
  /**
   * Accept the offered contact. A voice call opens the microphone and a peer connection
   * (resolves with the `answer`); a chat has no media (resolves with `agent_state on_call`, or
   * the `ok`). `channel` defaults to the offer's.
   */
  accept(callId: CallId, options?: { channel?: Channel }): Promise<Answer | AgentState | Ok>;
  decline(callId: CallId): void;
  /**
   * Hand the contact being handled to `queue` (a blind transfer) with an optional `note` for
   * the next agent. This agent leaves it (its media closes) and wraps up. Resolves with the
   * `transferred` event; rejects with 'bad_message' for a queue that does not exist.
   */
  transfer(callId: CallId, queue: string, note?: string): Promise<Transferred>;
}

/**
 * The supervisor side: a live dashboard, silent listening, live transcripts and sentiment
 * alerts. Emits 'transcript_history', 'transcript' and 'emotion' for watched calls,
 * 'sentiment_alert' for any call, and 'utterance' {call_id, utterance} for every change to a
 * watched call's Transcript (in `transcripts`). A watched contact's typed messages (customer,
 * bot, agent) are folded into `conversations` and emitted as 'chat_message' {call_id, message}.
 */
export declare class SupervisorConsole extends SwitchboardClient<SupervisorConsoleEvents> {
  constructor(options?: ClientOptions);
  /** The `logged_in` of the login. */
  user: LoggedIn | null;
  /** The last `dashboard`. */
  dashboard: Dashboard | null;
  /** call_id -> what listening to it uses. */
  listening: Map<CallId, ListeningEntry>;
  /** The microphone, opened on the first whisper or barge. */
  mic: MediaStreamTrack | null;
  /** call_id -> Transcript, for calls being watched. */
  transcripts: Map<CallId, Transcript>;
  /** call_id -> Conversation, for calls being watched. */
  conversations: Map<CallId, Conversation>;
  /** The most recent listening peer connection. */
  pc: RTCPeerConnection | null;
  /** Log in with a username and password; resolves with `logged_in` (its `token` is the session token). */
  login(username: string, password: string): Promise<LoggedIn>;
  /** Log in again with the `token` of an earlier `logged_in` (after a reload or a restart). */
  loginWithToken(token: string): Promise<LoggedIn>;
  /** The server forgot the session (a restart): log in again with the session token. */
  restoreSession(): Promise<boolean>;
  /**
   * Listen to a call. The offer has two audio m-lines: the first carries the customer's voice
   * (and, later, sends the supervisor's microphone when they whisper or barge in: it is
   * sendrecv with no track until then, so nothing is sent and no microphone is asked for), the
   * second the agent's. Both play, mixed, through one audio element.
   */
  listen(callId: CallId, audioElement?: HTMLMediaElement | null): Promise<void>;
  /**
   * Receive a call's live transcript: resolves with the `transcript_history` reply (the final
   * utterances so far); live 'transcript', 'emotion' and 'chat' events follow until the call
   * ends or unwatchTranscript. The Transcript is in `transcripts.get(callId)`, the typed
   * messages from now on in `conversations.get(callId)`.
   */
  watchTranscript(callId: CallId): Promise<TranscriptHistory>;
  /** Stop receiving a call's transcript; resolves with the `ok` (sent even if not watching). */
  unwatchTranscript(callId: CallId): Promise<Ok>;
  /**
   * Change how this supervisor takes part in a call they listen to: 'whisper' (only the agent
   * hears them), 'barge' (the agent and the customer do) or 'listen' (nobody does). The
   * microphone is opened on the first whisper or barge, and sends only in those modes.
   * Resolves with the `supervision` confirmation (the `ok` when the mode was already in
   * force); rejects with wrong_state when no agent is on the call yet.
   */
  supervise(callId: CallId, mode: SupervisionMode): Promise<Supervision | Ok>;
  /** Forget a listening session locally, without telling the server (it already knows). */
  forget(callId: CallId): void;
  stopListening(callId: CallId): void;
}

export {};
