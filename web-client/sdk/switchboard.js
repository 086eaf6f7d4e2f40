// Switchboard browser SDK: a thin wrapper over the WebSocket protocol v1
// (signaling/src/protocol.rs is the authority). No dependencies, no build step:
//   import { CustomerCall } from '/sdk/switchboard.js';
//
// Every class is an event emitter. Each server message is emitted under its `type`
// ('call_state', 'dashboard', 'transcript', 'emotion', 'sentiment_alert', 'chat', ...) and under
// 'message'; 'close' fires when the socket closes. AgentPhone and SupervisorConsole also fold
// live transcripts into Transcript objects and emit 'utterance' {call_id, utterance} for every
// utterance that changed (`utterance.removed` is true when the server withdrew it).
//
// Chat and the bot. A contact is a voice call or a text chat; with the bot on, the bot serves it
// first (call_state 'with_bot') until the customer asks for a person or the bot hands over
// (then 'queued', 'ringing', 'connected' as for any call). Text can be typed on either channel.
//   CustomerCall
//     start({name, topic, metadata, caller, language, entry, queue, video})   a voice call (microphone)
//     startChat({name, topic, metadata, caller, language, entry, queue})      a text chat, no microphone;
//                                           resolves with the first call_state ('with_bot' or 'queued')
//     sendChat(text)       1..2000 characters to the contact (voice or chat, any live state);
//                          resolves on the server's ok. Shown when it comes back as 'chat_message'
//     requestAgent()       "talk to a person": leave the bot for the queue
//     rejectAnswer()       "not what I asked": the bot's last answer missed (the bot asks again)
//     hangUp()             ends a call or a chat
//     channel ('voice' | 'chat'), state (the last call_state's state, e.g. 'with_bot'),
//     conversation (the contact's Conversation)
//   AgentPhone
//     accept(callId)       a chat or callback offer is accepted without media (no microphone, no SDP)
//     sendChat(text)       to the customer of the accepted contact
//     offer.channel, offer.handoff (what the bot learnt, when it served the contact first);
//     contact {call_id, channel, caller, handoff} of the accepted (or last) contact, and its
//     conversation, seeded with the handoff's conversation
//   SupervisorConsole: a watched call's chat is in conversations.get(callId).
// Events: 'chat_message' {call_id, message} for every message new to the contact's Conversation
// (message = {from: 'customer' | 'agent' | 'bot', text, at_ms, entry_id?}; each side's own messages
// come back from the server and are emitted then, not on send); 'state' {call_id, state, ...}
// (CustomerCall, every call_state of its contact, 'with_bot' included); 'handoff'
// {call_id, channel, handoff} (AgentPhone, an offer the bot handed over).
//
// The modules, by concern (each importable on its own):
//   client.js        SwitchboardClient (the connection, requests, reconnect), SwitchboardError
//   peer.js          PeerLink (one peer connection with trickle ICE)
//   conversation.js  Transcript, Conversation, compareUtterances
//   customer.js      CustomerCall;  agent.js  AgentPhone;  supervisor.js  SupervisorConsole
// Types: switchboard.d.ts.

export { PROTOCOL_VERSION, defaultUrl, SwitchboardError, SwitchboardClient } from './client.js';
export { PeerLink } from './peer.js';
export { Transcript, Conversation, compareUtterances } from './conversation.js';
export { CustomerCall } from './customer.js';
export { AgentPhone } from './agent.js';
export { SupervisorConsole } from './supervisor.js';
