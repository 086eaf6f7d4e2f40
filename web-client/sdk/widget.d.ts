// TypeScript declarations for the Switchboard call button (widget.js): the `switchboard-call`
// custom element. widget.js is a classic script (no exports); these types come in with
//   import type { SwitchboardCallElement } from './widget.js';
// (or a `/// <reference path="widget.d.ts" />`), which also types
// document.querySelector('switchboard-call') and document.createElement('switchboard-call').
//
// One script tag puts a "Call us / Chat" button on any site:
//
//   <script src="https://cc.example.com/sdk/widget.js" async
//           data-queue="billing" data-topic="Billing" data-language="en"
//           data-metadata='{"account":"A-17","vip":"true","signature":"…"}'></script>
//
// or, to place it yourself, load the script once and write the element where it should be:
//
//   <switchboard-call server="https://cc.example.com" queue="billing" channels="chat"></switchboard-call>
//
// The server must list the site's origin in `allowed_origins` (README, Configuration).

import type { CallStateName, CustomerCall } from './switchboard.js';

/**
 * The element's attributes (on the element, or as data-* on the script tag). All are strings;
 * the comments say what each holds.
 */
export interface SwitchboardCallAttributes {
  /** The Switchboard server's origin (default: where widget.js came from). */
  server?: string;
  /** The queue the contact goes to (GET /api/queues lists them). */
  queue?: string;
  /** What the customer wants, shown to the agent. */
  topic?: string;
  /** What the customer speaks: en, zh or auto. */
  language?: 'en' | 'zh' | 'auto' | (string & {});
  /** The entry point (which bot flow greets them). */
  entry?: string;
  /** The customer's name, when the site knows it. */
  name?: string;
  /**
   * JSON object of string values the site passes (order, account, ...). Sign it on the site's
   * server (docs/protocol.md, caller.metadata.signature) for VIP routing.
   */
  metadata?: string;
  /** Which buttons show: "voice chat" (default), "voice" or "chat". */
  channels?: 'voice chat' | 'voice' | 'chat' | (string & {});
  /** The button's text (default "Call us" / "Chat with us"). */
  label?: string;
  /** What the customer is told about transcription (default: the server's, else the widget's own). */
  notice?: string;
  /** "inline" to render in place, else a floating button at the bottom right. */
  placement?: 'inline' | (string & {});
}

/** The name of one of the element's attributes. */
export type SwitchboardCallAttribute = keyof SwitchboardCallAttributes;

/**
 * What the widget shows: 'calling' while a contact starts, a call_state's state while it
 * lasts, 'error' when it could not start.
 */
export type SwitchboardWidgetState = 'calling' | 'error' | CallStateName;

/** The detail of 'switchboard-state'. */
export interface SwitchboardStateDetail {
  state: SwitchboardWidgetState;
}

/** What went wrong, in the customer's words (ui.js customerProblem). */
export type SwitchboardProblemKind =
  | 'mic-blocked'
  | 'no-mic'
  | 'mic-busy'
  | 'unreachable'
  | 'restarting'
  | 'busy'
  | 'other';

/** The detail of 'switchboard-error'. */
export interface SwitchboardErrorDetail {
  kind: SwitchboardProblemKind;
  /** The text the widget shows. */
  text: string;
}

/** The element's own events; both bubble out of the element (and out of shadow roots). */
export interface SwitchboardCallElementEventMap extends HTMLElementEventMap {
  /** The widget's state changed: {state}. */
  'switchboard-state': CustomEvent<SwitchboardStateDetail>;
  /** Something went wrong: {kind, text}. */
  'switchboard-error': CustomEvent<SwitchboardErrorDetail>;
}

/** The `switchboard-call` element: a "Call us" / "Chat with us" button and its panel. */
export interface SwitchboardCallElement extends HTMLElement {
  /** The server's origin: the `server` attribute (no trailing slash), else where widget.js came from. */
  readonly server: string;
  /** True while a contact is live (started and not ended). */
  readonly live: boolean;
  /** The CustomerCall of the current (or last) contact; null before the first. */
  call: CustomerCall | null;
  /** The current (or last) contact's channel. */
  channel: 'voice' | 'chat' | null;
  /** What the widget shows now. */
  state: SwitchboardWidgetState | null;
  /** Start a contact (or reopen the panel of the live one), as the buttons do. */
  start(channel: 'voice' | 'chat'): Promise<void>;
  getAttribute(qualifiedName: SwitchboardCallAttribute | (string & {})): string | null;
  setAttribute(qualifiedName: SwitchboardCallAttribute | (string & {}), value: string): void;
  addEventListener<K extends keyof SwitchboardCallElementEventMap>(
    type: K,
    listener: (this: SwitchboardCallElement, ev: SwitchboardCallElementEventMap[K]) => any,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof SwitchboardCallElementEventMap>(
    type: K,
    listener: (this: SwitchboardCallElement, ev: SwitchboardCallElementEventMap[K]) => any,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions,
  ): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'switchboard-call': SwitchboardCallElement;
  }
}

export {};
