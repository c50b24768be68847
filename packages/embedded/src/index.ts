export {
  type EmbeddedServerOptions,
  type EmbeddedServerStatus,
  embeddedHome,
  embeddedServerStatus,
  ensureEmbeddedServer,
  stopEmbeddedServer,
} from './embedded-server.js';
