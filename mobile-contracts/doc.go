// Package contracts pins the JSON wire format of the mobile app's APIs. The fixtures under fixtures/
// are requests and responses exactly as Connect's JSON codec writes them (protojson with its default
// options: lowerCamelCase names, unset fields left out, 64-bit integers as strings, enums by name).
// Its test fails when a change to the protos would change or break what the apps send or parse;
// sync.md describes the sync protocol those messages carry.
package contracts
