// Reads an EventCatalog folder back with EventCatalog's own SDK (@eventcatalog/sdk) and prints
// what it found as JSON: events (with versions, schema file, channels, producers, consumers),
// services (sends, receives), channels. Usage: node read-eventcatalog.mjs DIR
import utils from '@eventcatalog/sdk';

const directory = process.argv[2];
if (!directory) {
  console.error('usage: node read-eventcatalog.mjs DIR');
  process.exit(2);
}
const sdk = utils(directory);
const pointer = (p) => ({ id: p.id, version: p.version ?? null });
const events = [];
for (const event of (await sdk.getEvents({ attachSchema: true })) ?? []) {
  const { producers, consumers } = await sdk.getProducersAndConsumersForMessage(event.id, event.version);
  const schema = await sdk.getSchemaForMessage(event.id, event.version);
  events.push({
    id: event.id,
    version: event.version,
    summary: event.summary ?? null,
    badges: (event.badges ?? []).map((b) => b.content),
    channels: (event.channels ?? []).map(pointer),
    schemaFile: schema ? schema.fileName : null,
    schema: event.schema ?? null,
    producers: producers.map((s) => s.id).sort(),
    consumers: consumers.map((s) => s.id).sort(),
    markdown: event.markdown,
  });
}
const services = ((await sdk.getServices()) ?? []).map((service) => ({
  id: service.id,
  version: service.version,
  summary: service.summary ?? null,
  sends: (service.sends ?? []).map((p) => ({ ...pointer(p), to: (p.to ?? []).map((c) => c.id) })),
  receives: (service.receives ?? []).map((p) => ({ ...pointer(p), from: (p.from ?? []).map((c) => c.id) })),
  markdown: service.markdown,
}));
const channels = ((await sdk.getChannels()) ?? []).map((channel) => ({
  id: channel.id,
  version: channel.version,
  address: channel.address ?? null,
  protocols: channel.protocols ?? [],
}));
const byId = (a, b) => a.id.localeCompare(b.id);
console.log(JSON.stringify({ events: events.sort(byId), services: services.sort(byId), channels: channels.sort(byId) }, null, 2));
