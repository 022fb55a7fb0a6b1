// The sales app's TypeScript SDK: generated messages and service descriptors (./gen), and the transports
// that carry them. Build a client with @connectrpc/connect's createClient:
//
//   import { createClient } from "@connectrpc/connect";
//   import { PublicService, createWxTransport } from "@salesapp/sdk";
//   const client = createClient(PublicService, createWxTransport({ wx, baseUrl: "https://scrm.example.com" }));
//   const page = await client.openShare({ token });

export * from "./gen/salesapp/v1/alert_pb";
export * from "./gen/salesapp/v1/audit_pb";
export * from "./gen/salesapp/v1/auth_pb";
export * from "./gen/salesapp/v1/card_pb";
export * from "./gen/salesapp/v1/customer_pb";
export * from "./gen/salesapp/v1/diag_pb";
export * from "./gen/salesapp/v1/export_pb";
export * from "./gen/salesapp/v1/material_pb";
export * from "./gen/salesapp/v1/me_pb";
export * from "./gen/salesapp/v1/media_pb";
export * from "./gen/salesapp/v1/ping_pb";
export * from "./gen/salesapp/v1/session_pb";
export * from "./gen/salesapp/v1/share_pb";
export * from "./gen/salesapp/v1/sync_pb";
export * from "./gen/salesapp/v1/tenant_pb";
export * from "./gen/salesapp/v1/tracking_pb";
export { createWxTransport } from "./wx";
export type { Wx, WxRequestOptions, WxTransportOptions } from "./wx";
export { createWebTransport } from "./web";
export type { WebTransportOptions } from "./web";
export { bearer, customerSession } from "./auth";
export { Tracker, newId, visitorId, visitorKey } from "./tracking";
export type { TrackExtra, TrackKind, TrackerOptions } from "./tracking";
