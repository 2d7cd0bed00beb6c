export { startSimulator, DEFAULT_CHECKPOINTS, DEFAULT_LORAS, type Simulator, type SimulatorOptions } from './start-simulator';
export { CUSTOM_NODE_PACK_NAMES, type CustomNodePack } from './nodes/custom-node-packs';
export type { Misbehaviour, MisbehaviourRecord } from './http/misbehaviour';
export type { ReceivedPrompt, RecordedControl, RecordedUpload, SimulatedModels } from './simulator-state';
export { EXECUTION_ERROR_MARKER } from './execution/simulated-failures';
export { encodePng, readPngText, readPngSize } from './images/png-encoder';
export type { ApiPrompt, HistoryEntry } from './types';
export { emptyImageProbe, textToImage } from './sample-workflows';
export { COMFYUI_VERSIONS, DEFAULT_COMFYUI_VERSION, serverProfile, type ComfyuiVersion, type ServerProfile } from './server-profile';
