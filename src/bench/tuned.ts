/** Preload (`node --import`): the V8 settings bin/dpc applies to `dpc export run|download`, before anything else loads. */
import { tuneForStreaming } from '../export/tuning.js';

tuneForStreaming();
