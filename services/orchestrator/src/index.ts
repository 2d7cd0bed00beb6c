export { startOrchestrator } from './start';
