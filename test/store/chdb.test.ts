// The store suite on the embedded default (chDB).
import { storeSuite } from './suite.js';
import { testStore } from '../support/store.js';

storeSuite('embedded chDB', () => testStore());
