// View "summary": what the page shows — model, runs, prompts, settings, headline numbers.
'use strict';

MR.registerView('summary', function (root, section) {
  const facts = [];
  const fact = (k, v) => { if (v != null && v !== '') facts.push(MR.el('dt', { text: k }), MR.el('dd', { text: String(v) })); };
  const model = MR.data.model;
  fact('model', model.id || '(not named in the traces)');
  fact('router layers', model.layers.length);
  fact('experts per layer', model.num_experts);
  const prompts = [];
  const promptBlock = (who, run) => {
    const p = run.prompt || {};
    const block = MR.el('div', { class: 'mr-prompt' }, MR.el('h4', { text: who }));
    if (p.system != null) block.append(MR.el('div', { class: 'mr-label', text: 'system prompt' }), MR.el('pre', { class: 'mr-text', text: p.system }));
    if (p.user != null) block.append(MR.el('div', { class: 'mr-label', text: 'user message' }), MR.el('pre', { class: 'mr-text', text: p.user }));
    if (p.generated_text != null) block.append(MR.el('div', { class: 'mr-label', text: 'generated text' + (p.stop_reason ? ' (stopped: ' + p.stop_reason + ')' : '') }),
      MR.el('pre', { class: 'mr-text', text: p.generated_text }));
    if (block.childNodes.length > 1) prompts.push(block);
  };
  if (section.kind === 'comparison') {
    const base = MR.run(section.base_run), v = MR.run(section.var_run);
    fact('top-k recorded', base.k);
    fact('distribution compared', section.distribution + (section.distribution === 'full' ? ' (softmax of all router logits)' : ' (renormalised top-k gate weights)'));
    fact('divergence', section.metric_label + (section.log_base ? ', log base ' + section.log_base : ''));
    fact('aligned steps', section.steps);
    fact('alignment', section.generation.align || 'by step index');
    fact('step 0 at position', 'base ' + section.base_start + ', variant ' + section.var_start);
    fact('mean divergence', MR.fmt(section.mean, 4));
    fact('rows', 'base ' + base.rows + ' (prompt ' + base.promptLength + '), variant ' + v.rows + ' (prompt ' + v.promptLength + ')');
    if (section.generation.chat_template) fact('chat template', section.generation.chat_template);
    promptBlock('base', base);
    promptBlock('variant', v);
  } else {
    const run = MR.run(section.run);
    fact('top-k recorded', run.k);
    fact('rows', run.rows + (run.sequenceIds ? '' : ' (prompt ' + run.promptLength + ')'));
    if (run.raw.sequences.length) fact('sequences', run.raw.sequences.length);
    fact('routing rule', run.raw.routing_rule || 'unknown');
    fact('source', run.raw.source);
    fact('expert ids', run.raw.id_space);
  }
  root.append(MR.card(section.title, section.kind === 'comparison' ? 'Base and variant prompt on one model' : 'One trace',
    MR.el('dl', { class: 'mr-facts' }, facts), prompts.length ? MR.el('div', { class: 'mr-prompts' }, prompts) : null));
});
