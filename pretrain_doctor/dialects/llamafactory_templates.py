"""Every chat template name LLaMA-Factory registers, across its releases: the union of the `register_template(name=...)`
calls (and plug-in names registered the same way) in src/llmtuner/extras/template.py, src/llmtuner/data/template.py
and src/llamafactory/data/template.py at every tag from v0.0.9 to v0.9.5 and at main of 2026-08-18 (ff6d4d12e),
read from the repository with `git show TAG:PATH | grep -oE 'name="[^"]+"'`. A `template` outside it is no release's:
`get_template_and_fix_tokenizer` raises "Template NAME does not exist." before training.
"""

TEMPLATES = frozenset({
    'aeva', 'alpaca', 'aquila', 'atom', 'baichuan', 'baichuan2', 'bailing', 'bailing_v2', 'base', 'belle', 'billa',
    'bluelm', 'breeze', 'chatglm2', 'chatglm3', 'chatglm3_raw', 'chatglm3_system', 'chatml', 'chatml_de',
    'codegeex2', 'codegeex4', 'cohere', 'cpm', 'cpm3', 'cpm4', 'custom', 'dbrx', 'deepseek', 'deepseek3',
    'deepseekcoder', 'deepseekr1', 'default', 'dots_ocr', 'empty', 'ernie', 'ernie_nothink', 'ernie_vl', 'exaone',
    'falcon', 'falcon_h1', 'fewshot', 'gemma', 'gemma2', 'gemma3', 'gemma3n', 'gemma4', 'gemma4n', 'glm4', 'glm4_5v',
    'glm4_7', 'glm4_moe', 'glm4v', 'glm_ocr', 'glmz1', 'gpt_oss', 'granite3', 'granite3_vision', 'granite4',
    'hunyuan', 'hunyuan_small', 'hy3', 'hy_dense_1_8b', 'hy_dense_7b', 'index', 'intern', 'intern2', 'intern_s1',
    'intern_vl', 'keye_vl', 'kimi_vl', 'lfm2', 'lfm2_vl', 'linly', 'llama2', 'llama2_zh', 'llama3', 'llama4',
    'llava', 'llava_next', 'llava_next_llama3', 'llava_next_mistral', 'llava_next_qwen', 'llava_next_video',
    'llava_next_video_mistral', 'llava_next_video_yi', 'llava_next_yi', 'marco', 'mimo', 'mimo_v2', 'mimo_vl',
    'minicpm_o', 'minicpm_v', 'minicpm_v_4_6', 'minimax1', 'minimax2', 'ministral', 'ministral3', 'mistral',
    'mistral_small', 'mllama', 'moonlight', 'moss_vl', 'olmo', 'openchat', 'openchat-3.6', 'opencoder', 'orion',
    'paligemma', 'paligemma_chat', 'phi', 'phi4', 'phi4_mini', 'phi_small', 'pixtral', 'qwen', 'qwen2_audio',
    'qwen2_omni', 'qwen2_vl', 'qwen3', 'qwen3_5', 'qwen3_5_nothink', 'qwen3_6', 'qwen3_nothink', 'qwen3_omni',
    'qwen3_omni_nothink', 'qwen3_vl', 'qwen3_vl_nothink', 'sailor', 'seed_coder', 'seed_oss', 'skywork_o1', 'smollm',
    'smollm2', 'solar', 'starchat', 'telechat', 'telechat2', 'vanilla', 'vicuna', 'video_llava', 'xuanyuan',
    'xverse', 'yayi', 'yi', 'yi_vl', 'youtu', 'youtu_vl', 'yuan', 'zephyr', 'ziya',
})
