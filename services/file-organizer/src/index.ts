export { startFileOrganizer } from './start';
