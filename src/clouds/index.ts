export type {
  CloudEntry,
  CloudsFile,
  AuthOptions,
  PasswordAuth,
  ApplicationCredentialAuth,
  TokenAuth,
  ResolvedCloud,
  Interface,
} from "./types.js";
export { loadCloudsYaml, resolveCloud, resolveCloudFromFile } from "./load.js";
export { parseCloudsYamlText } from "./parse.js";
export {
  renderSingleCloudYaml,
  renderCloudConf,
  renderEnvVars,
  ENV_VAR_NAMES,
  DEFAULT_CA_FILE_IN_CLUSTER,
} from "./render.js";
export { renderExports, renderUnsets, type ShellKind } from "./shell-export.js";
